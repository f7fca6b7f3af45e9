/**
 * Shared by `npm run bench` (bench/run.ts) and `npm run soak` (bench/soak.ts): the emulator in-process on
 * 127.0.0.1, a temp state root logged in as a worker user with the fake agents configured, the REAL worker
 * process (`node dist/cli.js start --home <tmp>`), and small statistics helpers. Everything stops by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { startEmulator, type Emulator, type EmulatorOptions, type SessionTuple } from '../main/emulator/index';
import { StatePaths } from '../main/core/state/paths';

export const ROOT = new URL('..', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/cli.js');
/** The installed command: the package's launcher (its own V8 flags) over the self-contained bundle. */
export const LAUNCHER = join(ROOT, 'packages/cli/bin/blobhub-worker.js');
export const PACKAGE_CLI = join(ROOT, 'packages/cli/dist/cli.js');

/** The node flags the launcher passes (its line 2), so a profiled run keeps them. */
export function launcherNodeFlags(): string[] {
  const line = readFileSync(LAUNCHER, 'utf8').split('\n')[1] ?? '';
  const m = /exec node (.*) "\$0" "\$@"/.exec(line);
  return m ? m[1].split(' ').filter(Boolean) : [];
}

/**
 * How the bench starts the worker. `BENCH_WORKER=package` (default): `blobhub-worker` as installed (the
 * launcher, so its flags). `BENCH_WORKER=dev`: `node dist/cli.js` (the development build with node_modules
 * external and no flags: the figures before the package existed). BENCH_WORKER_NODE_ARGS: extra node flags
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"); the package then runs as `node <launcher flags> <args> bundle`.
 */
export function workerCommand(args: string[]): { file: string; argv: string[]; label: string } {
  const mode = process.env.BENCH_WORKER ?? 'package';
  const extra = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (mode === 'dev') return { file: process.execPath, argv: [...extra, CLI, ...args], label: 'node dist/cli.js' };
  if (mode !== 'package') throw new Error(`BENCH_WORKER must be "package" or "dev", not ${JSON.stringify(mode)}`);
  if (extra.length === 0) return { file: LAUNCHER, argv: args, label: 'blobhub-worker (package launcher)' };
  return {
    file: process.execPath,
    argv: [...launcherNodeFlags(), ...extra, PACKAGE_CLI, ...args],
    label: `node ${[...launcherNodeFlags(), ...extra].join(' ')} packages/cli/dist/cli.js`,
  };
}
export const FAKE_CLAUDE = join(ROOT, 'test/fakes/claude');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitUntil<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs: number,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
export const median = (v: number[]): number => quantile(v, 0.5);
export const p99 = (v: number[]): number => quantile(v, 0.99);

export interface WorldOptions {
  sections?: number;
  realtime?: boolean;
  idleMs?: number;
  activeMs?: number;
  backoffMaxMs?: number;
  maxAgents?: number;
  scenario?: unknown;
  emulator?: EmulatorOptions;
}

export interface World {
  emu: Emulator;
  dir: string;
  home: string;
  paths: StatePaths;
  worker: { user_id: string; api_key: string };
  human: { user_id: string; api_key: string };
  sessions: SessionTuple[];
  env: NodeJS.ProcessEnv;
  workFolder: string;
  recordFile: string;
  handoff(ref: SessionTuple, alias: string): void;
  say(ref: SessionTuple, alias: string, text: string): { id: string; at: number };
  close(): Promise<void>;
}

/** The emulator, a worker and a human user, `sections` sessions, and a logged-in home pointing at them. */
export async function makeWorld(o: WorldOptions = {}): Promise<World> {
  const emu = await startEmulator(o.emulator ?? {});
  const dir = await mkdtemp(join(tmpdir(), 'bhw-bench-'));
  const home = join(dir, 'home');
  const workFolder = join(dir, 'repo');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await mkdir(workFolder, { recursive: true });
  const worker = emu.control.createUser({ name: 'Worker', email: 'worker@example.test' });
  const human = emu.control.createUser({ name: 'Human', email: 'human@example.test' });
  const sessions = Array.from({ length: o.sections ?? 1 }, () =>
    emu.control.createSession({ members: [worker.user_id, human.user_id] }),
  );
  const recordFile = join(dir, 'record.jsonl');
  const scenarioFile = join(dir, 'scenario.json');
  await writeFile(scenarioFile, JSON.stringify(o.scenario ?? {}));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BLOBHUB_WORKER_HOME: '',
    FAKE_AGENT_SCENARIO: scenarioFile,
    FAKE_AGENT_RECORD: recordFile,
    FAKE_AGENT_STATE_DIR: join(dir, 'agent-state'),
  };
  const creds = {
    api: { key: worker.api_key, url: emu.apiUrl, ...(o.realtime ? { realtime_url: emu.realtimeUrl } : {}) },
  };
  await writeFile(join(home, 'credentials.yaml'), YAML.stringify(creds), { mode: 0o600 });
  await chmod(join(home, 'credentials.yaml'), 0o600);
  await writeFile(
    join(home, 'identity.yaml'),
    YAML.stringify({
      user: {
        user_id: worker.user_id,
        name: 'Worker',
        email: 'worker@example.test',
        recorded_at: new Date().toISOString(),
      },
    }),
  );
  await writeFile(
    join(home, 'config.yaml'),
    YAML.stringify({
      polling: {
        interval_idle_ms: o.idleMs ?? 1500,
        interval_active_ms: o.activeMs ?? 3000,
        backoff_max_ms: o.backoffMaxMs ?? 30000,
      },
      concurrency: { max_agents: o.maxAgents ?? 4 },
      agents: { claude_code: { executable: FAKE_CLAUDE, permissions: 'approval' } },
      sections: sessions.map((s, i) => ({ name: `s${i}`, job_type: 'session_agent_harness', session: s })),
    }),
  );
  return {
    emu,
    dir,
    home,
    paths: new StatePaths(home),
    worker,
    human,
    sessions,
    env,
    workFolder,
    recordFile,
    handoff(ref, alias) {
      emu.control.uploadObject(human.user_id, ref, alias, {
        type: 'thread',
        thread: {
          attributes: { name: alias },
          metadata: {
            workspace: { work_folder: workFolder },
            agent: { type: 'claude_code' },
            instance: { state: 'pending' },
          },
        },
      });
    },
    say(ref, alias, text) {
      const at = Date.now();
      return { id: emu.control.postItem(human.user_id, ref, alias, [{ type: 'text', text }]).id, at };
    },
    async close() {
      await emu.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerChild {
  child: ChildProcess;
  pid: number;
  spawnedAt: number;
  /** How it was started (see workerCommand). */
  label: string;
  stderr(): string;
  /** Every JSON log line so far, with the local time it was read. */
  logs(): Array<Record<string, unknown> & { _at: number }>;
  stop(): Promise<number | null>;
}

/** `blobhub-worker start --home <home>` (see workerCommand): the real worker process. */
export function startWorkerProcess(w: World): WorkerChild {
  const spawnedAt = Date.now();
  const cmd = workerCommand(['start', '--home', w.home]);
  const child = spawn(cmd.file, cmd.argv, {
    env: w.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let partial = '';
  const lines: Array<Record<string, unknown> & { _at: number }> = [];
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 4_000_000) err = err.slice(-2_000_000);
    partial += d.toString();
    let nl;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        lines.push({ ...(JSON.parse(line) as Record<string, unknown>), _at: Date.now() });
      } catch {
        // not a JSON line
      }
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    pid: child.pid!,
    spawnedAt,
    label: cmd.label,
    stderr: () => err,
    logs: () => lines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Resident memory (kB) and CPU ticks of a Linux process. */
export function procStats(pid: number): { rssKb: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime = field 14, stime = field 15.
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  return { rssKb, cpuTicks };
}
/** Linux USER_HZ (clock ticks per second) — 100 on every mainstream kernel config. */
export const CLK_TCK = 100;

/** Parses thread.log (JSON lines) of one thread. */
export async function threadLog(w: World, ref: SessionTuple, alias: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(w.paths.job(ref.session_id).threadLog(alias), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function items(
  w: World,
  ref: SessionTuple,
  alias: string,
): Array<{
  id: string;
  created_at: string;
  user_id?: string | null;
  content: Array<{ text?: string }>;
  metadata?: Record<string, unknown> | null;
}> {
  return w.emu.control.listItems(ref, alias) as never;
}
