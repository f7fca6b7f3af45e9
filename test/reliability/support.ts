/**
 * Reliability test support: a seeded mutator for YAML files (byte flips, truncation, wrong types, deep nesting,
 * huge strings, alias bombs, duplicate keys, non-UTF-8, empty…), the "no raw exception" check for a process's
 * output, file hashing, and a runner for the real CLI that keeps at most two children alive (2-core CI).
 *
 * Every case is derived from a printed seed, so a failure names the seed and case index that reproduce it:
 * `mutate(seededRandom(seed + i), base)`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { seededRandom } from '../../main/emulator/faults';
import type { ChildProcess } from 'node:child_process';
import { outputEnded, runCli, spawnCli, waitFor, type CliOptions, type CliResult } from '../support/process';

export { seededRandom };
export type Rng = () => number;

export const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)];
export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** The seed every fuzz file starts from unless BHW_FUZZ_SEED is set (printed in every test name). */
export const FUZZ_SEED = Number(process.env.BHW_FUZZ_SEED ?? 20260606);
/** Cases per in-process target (BHW_FUZZ_CASES overrides, e.g. for a long local run). */
export const FUZZ_CASES = Number(process.env.BHW_FUZZ_CASES ?? 300);

const WRONG_VALUES = [
  '[]',
  '{}',
  '-1',
  '0',
  'true',
  'null',
  '~',
  '""',
  '1e309',
  '0x1F',
  '[1, 2]',
  '{a: 1}',
  '!!binary aGVsbG8=',
  '.nan',
  '2026-01-01',
  '!!js/function "function(){}"',
  '!custom x',
  '*undefined_alias',
  '|\n  block',
  '12345678901234567890123',
  "'single'",
  '"\\u0000"',
  '- a\n- b',
  '? complex\n: key',
];

export interface Mutant {
  op: string;
  bytes: Buffer;
}

const OPS = [
  'flip',
  'truncate',
  'insert_bytes',
  'delete_line',
  'dup_line',
  'swap_lines',
  'wrong_type',
  'wrong_type',
  'deep_nest',
  'huge_string',
  'alias_bomb',
  'dup_key',
  'non_utf8',
  'empty',
  'whitespace',
  'bom',
  'nul',
  'tab_indent',
  'tag',
  'multi_doc',
  'crlf',
  'stack',
  'stack',
] as const;

function lines(text: string): string[] {
  return text.split('\n');
}

/** One mutation of `base`, chosen and shaped by `rng`. */
export function mutate(rng: Rng, base: string, depth = 0): Mutant {
  const op =
    depth > 0
      ? pick(
          rng,
          OPS.filter((o) => o !== 'stack' && o !== 'huge_string' && o !== 'deep_nest'),
        )
      : pick(rng, OPS);
  const buf = Buffer.from(base, 'utf8');
  const at = (n: number): number => int(rng, 0, Math.max(0, n));
  switch (op) {
    case 'flip': {
      const out = Buffer.from(buf);
      for (let i = int(rng, 1, 4); i > 0 && out.length; i--) out[at(out.length - 1)] ^= 1 << int(rng, 0, 7);
      return { op, bytes: out };
    }
    case 'truncate':
      return { op, bytes: buf.subarray(0, at(buf.length - 1)) };
    case 'insert_bytes': {
      const junk = Buffer.from(Array.from({ length: int(rng, 1, 16) }, () => int(rng, 0, 255)));
      const p = at(buf.length);
      return { op, bytes: Buffer.concat([buf.subarray(0, p), junk, buf.subarray(p)]) };
    }
    case 'delete_line': {
      const l = lines(base);
      l.splice(at(l.length - 1), 1);
      return { op, bytes: Buffer.from(l.join('\n')) };
    }
    case 'dup_line': {
      const l = lines(base);
      const i = at(l.length - 1);
      l.splice(i, 0, l[i]);
      return { op, bytes: Buffer.from(l.join('\n')) };
    }
    case 'swap_lines': {
      const l = lines(base);
      const i = at(l.length - 1);
      const j = at(l.length - 1);
      [l[i], l[j]] = [l[j], l[i]];
      return { op, bytes: Buffer.from(l.join('\n')) };
    }
    case 'wrong_type': {
      const l = lines(base);
      const candidates = l.map((s, i) => [s, i] as const).filter(([s]) => /:\s*\S/.test(s) || /^\s*-\s/.test(s));
      if (!candidates.length) return { op, bytes: Buffer.from(pick(rng, WRONG_VALUES)) };
      const [s, i] = pick(rng, candidates);
      const value = pick(rng, WRONG_VALUES);
      l[i] = /:\s*\S/.test(s) ? s.replace(/:\s*\S.*$/, `: ${value}`) : s.replace(/-\s.*$/, `- ${value}`);
      return { op, bytes: Buffer.from(l.join('\n')) };
    }
    case 'deep_nest': {
      const n = int(rng, 200, 5_000);
      const nest = rng() < 0.5 ? '['.repeat(n) + ']'.repeat(n) : '{a: '.repeat(n) + '1' + '}'.repeat(n);
      return { op, bytes: Buffer.from(`${base}\ndeep: ${nest}\n`) };
    }
    case 'huge_string': {
      const n = int(rng, 50_000, 1_000_000);
      const l = lines(base);
      const i = at(l.length - 1);
      l[i] = (l[i] ?? '').includes(':') ? l[i].replace(/:.*$/, `: "${'x'.repeat(n)}"`) : `huge: ${'y'.repeat(n)}`;
      return { op, bytes: Buffer.from(l.join('\n')) };
    }
    case 'alias_bomb': {
      const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 9; i++) {
        const prev = String.fromCharCode(96 + i);
        const cur = String.fromCharCode(97 + i);
        levels.push(
          `${cur}: &${cur} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`,
        );
      }
      return {
        op,
        bytes: Buffer.from(rng() < 0.5 ? `${levels.join('\n')}\n${base}` : `${base}\n${levels.join('\n')}\n`),
      };
    }
    case 'dup_key': {
      const l = lines(base).filter((s) => /^\S[^:]*:/.test(s));
      const key = l.length ? pick(rng, l).split(':')[0] : 'sections';
      return { op, bytes: Buffer.from(`${base}\n${key}: ${pick(rng, WRONG_VALUES)}\n`) };
    }
    case 'non_utf8': {
      const out = Buffer.from(buf);
      for (let i = int(rng, 1, 6); i > 0 && out.length; i--)
        out[at(out.length - 1)] = pick(rng, [0xff, 0xfe, 0xc3, 0x80, 0xed, 0xa0]);
      return { op, bytes: rng() < 0.3 ? Buffer.from(base, 'latin1') : out };
    }
    case 'empty':
      return { op, bytes: Buffer.alloc(0) };
    case 'whitespace':
      return {
        op,
        bytes: Buffer.from(pick(rng, [' ', '\n', '\t\n \n', '---\n', '...\n', '#comment only\n', '---\n---\n'])),
      };
    case 'bom':
      return { op, bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf]) };
    case 'nul': {
      const p = at(buf.length);
      return { op, bytes: Buffer.concat([buf.subarray(0, p), Buffer.from([0]), buf.subarray(p)]) };
    }
    case 'tab_indent':
      return { op, bytes: Buffer.from(base.replace(/\n {2}/g, () => (rng() < 0.3 ? '\n\t' : '\n  '))) };
    case 'tag': {
      const l = lines(base);
      const i = at(l.length - 1);
      l[i] = (l[i] ?? '').replace(
        /:\s/,
        `: ${pick(rng, ['!!js/regexp /x/', '!!python/object:os.system ', '!!set ', '!!omap ', '!<tag:x> ', '!!timestamp '])}`,
      );
      return { op, bytes: Buffer.from(l.join('\n')) };
    }
    case 'multi_doc':
      return { op, bytes: Buffer.from(`${base}\n---\n${base}`) };
    case 'crlf':
      return { op, bytes: Buffer.from(base.replace(/\n/g, '\r\n')) };
    case 'stack': {
      let text = base;
      const ops: string[] = [];
      for (let i = int(rng, 2, 3); i > 0; i--) {
        const m = mutate(rng, text, depth + 1);
        ops.push(m.op);
        text = m.bytes.toString('latin1');
      }
      return { op: `stack(${ops.join('+')})`, bytes: Buffer.from(text, 'latin1') };
    }
  }
}

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** Hashes of the files that exist (absent = null), for "nothing changed" checks. */
export function hashFiles(paths: string[]): Record<string, string | null> {
  return Object.fromEntries(paths.map((p) => [p, existsSync(p) ? sha256(readFileSync(p)) : null]));
}

/**
 * A raw exception never reaches the user: no stack frame (plain or escaped inside a JSON string), no line
 * starting with `Error:` / `TypeError:` / `RangeError:` …, no `node:internal` path.
 */
export function assertNoRawException(output: string, label: string): void {
  const frame = /(^|\n)\s+at \S.*(\(|:\d+:\d+)|\\n\s+at \S/.exec(output);
  assert.equal(
    frame,
    null,
    `${label}: stack frame in output:\n${output.slice(Math.max(0, (frame?.index ?? 0) - 300), (frame?.index ?? 0) + 300)}`,
  );
  const raw = /(^|\n)\s*(Uncaught )?([A-Z][A-Za-z]*)?Error: /.exec(output);
  assert.equal(raw, null, `${label}: raw exception line in output:\n${output.slice(0, 2000)}`);
  assert.ok(!output.includes('node:internal'), `${label}: node internals in output`);
}

/** Every JSON log line of a worker's stderr (non-JSON lines are returned separately). */
export function logLines(stderr: string): { json: Array<Record<string, unknown>>; other: string[] } {
  const json: Array<Record<string, unknown>> = [];
  const other: string[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object') json.push(v as Record<string, unknown>);
      else other.push(line);
    } catch {
      other.push(line);
    }
  }
  return { json, other };
}

/** Runs CLI invocations at most `width` at a time (each bounded by its own timeout). */
export async function runCliPool<T>(
  jobs: Array<{ args: string[]; options: CliOptions; meta: T }>,
  width = 2,
): Promise<Array<{ result: CliResult; meta: T; args: string[] }>> {
  const out: Array<{ result: CliResult; meta: T; args: string[] }> = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i];
      out[i] = { result: await runCli(job.args, job.options), meta: job.meta, args: job.args };
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return out;
}

/** Describes a mutant for an assertion message (op and a short, printable preview). */
export function describeMutant(seed: number, index: number, m: Mutant): string {
  const preview = m.bytes
    .subarray(0, 160)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '.');
  return `seed ${seed} case ${index} op ${m.op} (${m.bytes.length} bytes): ${preview}`;
}

/** A running `blobhub-worker start` child: its output so far, waits on its log, SIGTERM / SIGKILL. */
export interface WorkerProc {
  child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  exited(): boolean;
  /** Resolves once a JSON log line on stderr satisfies `pred` (bounded). */
  waitLog(
    pred: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

export function startWorker(home: string, env: NodeJS.ProcessEnv = {}): WorkerProc {
  const child = spawnCli(['start'], { home, env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  child.stdin!.end();
  // Resolved once the output is read to the end too: 'exit' can come before the last lines (e.g. an error line).
  const exit = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (status, signal) => void outputEnded(child).then(() => resolve({ status, signal })));
  });
  let done = false;
  void exit.then(() => (done = true));
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited: () => done,
    async waitLog(pred, what, timeoutMs = 15_000) {
      return waitFor(
        () => {
          if (done) throw new Error(`worker exited while waiting for ${what}; stderr: ${err.slice(-3000)}`);
          return logLines(err).json.find(pred);
        },
        what,
        { timeoutMs, intervalMs: 10 },
      );
    },
    async stop(timeoutMs = 30_000) {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exit;
      clearTimeout(timer);
      return r;
    },
    async kill() {
      if (!done) child.kill('SIGKILL');
      await exit;
    },
  };
}

/** Runs `start` until it is running (then SIGTERM after `runMs`) or until it exits by itself. */
export async function runStart(
  home: string,
  env: NodeJS.ProcessEnv = {},
  runMs = 200,
): Promise<CliResult & { started: boolean }> {
  const w = startWorker(home, env);
  let started = false;
  try {
    await waitFor(() => w.exited() || (started = w.stderr().includes('"event":"started"')), 'start to run or exit', {
      timeoutMs: 20_000,
      intervalMs: 10,
    });
  } catch (e) {
    await w.kill();
    throw e;
  }
  if (started) await new Promise((r) => setTimeout(r, runMs));
  const r = await w.stop();
  return { ...r, stdout: w.stdout(), stderr: w.stderr(), started };
}

/** Values of every JSON type (and some nasty strings) to put where something else is expected. */
export const ODD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  '',
  'x',
  '\u0000',
  '\ud800',
  'a'.repeat(70_000),
  [],
  [null],
  [1, 'a'],
  {},
  { type: 42 },
  { type: 'text' },
  { text: ['not', 'a', 'string'] },
  Number.MAX_SAFE_INTEGER,
];

/** Paths to every value in a JSON tree (objects and arrays), for picking one to replace. */
export function jsonPaths(
  v: unknown,
  prefix: Array<string | number> = [],
  out: Array<Array<string | number>> = [],
): Array<Array<string | number>> {
  if (out.length > 400) return out;
  if (v && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      jsonPaths(child, p, out);
    }
  }
  return out;
}

export function setAt(root: unknown, path: Array<string | number>, value: unknown, remove: boolean): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
}
