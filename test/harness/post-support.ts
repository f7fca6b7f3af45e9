/**
 * Shared by the outbound failure tests (post-failed.test.ts, refused-item.test.ts): two threads on the real
 * worker host, the emulator and the fake agent, and readers for what landed on the server and on disk.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAST_TIMING, agentTexts, waitFor, type Rig } from './support';
import { isPidAlive } from '../../main/core/state/lock';
import { DEFAULT_THREAD_TIMING } from '../../main/core/harness/thread-context';
import type { WorkerHost } from '../../main/core/host';

export const POST = 'post_session_thread_item';
/** Every wait in these tests is bounded; failures settle within a few seconds of backoff (backoff_max_ms 1000). */
export const WAIT = { timeoutMs: 15_000 };

export type Item = ReturnType<Rig['items']>[number];

export const emissionOf = (i: Item): string | undefined =>
  (i.metadata as { emission_id?: string } | null | undefined)?.emission_id;
export const kindOf = (i: Item): string =>
  String((i.metadata as { type?: string } | null | undefined)?.type ?? 'human');

/** The pid of the fake agent started in `cwd` (the n-th one, 0-based). */
export async function agentPid(rig: Rig, cwd: string, n = 0): Promise<number | undefined> {
  return (await rig.records()).filter((r) => r.kind === 'argv' && r.cwd === cwd)[n]?.pid as number | undefined;
}

export async function argvs(rig: Rig, cwd: string): Promise<string[][]> {
  return (await rig.records()).filter((r) => r.kind === 'argv' && r.cwd === cwd).map((r) => r.argv as string[]);
}

/** User turns the fake agents started in `cwd` received, in order. */
export async function turnsIn(rig: Rig, cwd: string): Promise<string[]> {
  const records = await rig.records();
  const pids = new Set(records.filter((r) => r.kind === 'argv' && r.cwd === cwd).map((r) => r.pid));
  const out: string[] = [];
  for (const r of records) {
    if (r.kind !== 'stdin' || !pids.has(r.pid) || typeof r.line !== 'string') continue;
    const msg = JSON.parse(r.line) as { type?: string; message?: { content?: unknown } };
    if (msg.type !== 'user') continue;
    const c = msg.message?.content;
    out.push(
      typeof c === 'string' ? c : Array.isArray(c) ? c.map((b: { text?: string }) => b.text ?? '').join('\n') : '',
    );
  }
  return out;
}

export async function jsonLines(file: string): Promise<Array<Record<string, unknown>>> {
  try {
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

/** The outbox's `outbox_retry` lines for one thread (section.log). */
export async function retriesOf(rig: Rig, alias: string): Promise<Array<Record<string, unknown>>> {
  return (await jsonLines(rig.paths.job(rig.ref.session_id).sectionLog)).filter(
    (l) => l.event === 'outbox_retry' && l.thread === alias,
  );
}

export function activity(rig: Rig, type: string, alias: string): Array<Record<string, unknown>> {
  return rig
    .items('worker')
    .map((i) => i.metadata ?? {})
    .filter((m) => m.type === type && m.alias === alias);
}

export function assertNoDuplicates(rig: Rig, alias: string): void {
  const ids = rig
    .items(alias)
    .map(emissionOf)
    .filter((x): x is string => x !== undefined);
  assert.equal(new Set(ids).size, ids.length, `no emission posted twice on ${alias}: ${ids.join(' ')}`);
}

/** The thread's local failure, once thread.yaml records it. */
export async function waitFailed(
  rig: Rig,
  alias: string,
  timeoutMs = WAIT.timeoutMs,
): Promise<{ code: string; message: string; at: string }> {
  const error = await waitFor(
    async () => {
      const y = await rig.threadYaml(alias);
      return y?.agent.state === 'failed' ? y.agent.error : null;
    },
    `${alias} failed in thread.yaml`,
    { timeoutMs },
  );
  return error as { code: string; message: string; at: string };
}

export interface Started {
  host: WorkerHost;
  otherFolder: string;
  /** Items of `a` on the server after its first turn was answered. */
  before: Item[];
  pidA: number;
  pidB: number;
}

/** Threads `a` (rig.workFolder) and `b` (its own folder), both active, each with one answered turn. */
export async function startTwo(rig: Rig, timing: Partial<typeof DEFAULT_THREAD_TIMING> = {}): Promise<Started> {
  const otherFolder = join(rig.workFolder, 'other');
  await mkdir(otherFolder);
  rig.chat('a');
  rig.say('a', 'first');
  rig.handoff('a');
  rig.chat('b');
  rig.say('b', 'b-one');
  rig.handoff('b', { workspace: { work_folder: otherFolder } });
  const host = rig.host({ timing: { ...FAST_TIMING, ...timing } });
  await host.start();
  await waitFor(() => agentTexts(rig, 'a').includes('Hello! You said: first'), 'a answered its first turn', WAIT);
  await waitFor(() => agentTexts(rig, 'b').includes('Hello! You said: b-one'), 'b answered its first turn', WAIT);
  // The first turn's turn_end is posted too: nothing of a is still on its way.
  await waitFor(() => rig.kinds('a').at(-1) === 'turn_end', 'a first turn fully posted', WAIT);
  const pidA = await agentPid(rig, rig.workFolder);
  const pidB = await agentPid(rig, otherFolder);
  assert.ok(pidA && isPidAlive(pidA) && pidB && isPidAlive(pidB));
  return { host, otherFolder, before: rig.items('a'), pidA, pidB };
}
