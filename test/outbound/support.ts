/**
 * Outbox test rig: a real emulator on 127.0.0.1, a user with access to a session holding a thread envelope,
 * the real BlobHubClient, a temp folder for the journal and thread.log, and a logger that keeps its records.
 */
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../main/emulator/index';
import { BlobHubClient } from '../../main/core/api/client';
import type { SessionRef, ThreadItem } from '../../main/core/api/types';
import { createLogger, type LogRecord, type Logger } from '../../main/core/log';
import type { WorkerError } from '../../main/core/errors';
import { Outbox, type OutboxOptions } from '../../main/core/harness/outbound/outbox';
import { tempDir, waitFor } from '../support/process';

export const ALIAS = 'job_thread';

export interface Rig {
  emu: Emulator;
  api: BlobHubClient;
  apiKey: string;
  userId: string;
  ref: SessionRef;
  dir: string;
  journalPath: string;
  logs: LogRecord[];
  logger: Logger;
  fatal: WorkerError[];
  transient: WorkerError[];
  open(overrides?: Partial<OutboxOptions>): Promise<Outbox>;
  /** Every item of the thread, oldest first, straight from the emulator's store. */
  items(alias?: string): ThreadItem[];
  emissionIds(alias?: string): string[];
  cleanup(): Promise<void>;
}

export async function makeRig(options: { seed?: number; itemSizeCap?: number; pageSize?: number } = {}): Promise<Rig> {
  const emu = await startEmulator({
    seed: options.seed ?? 7,
    itemSizeCap: options.itemSizeCap,
    pageSize: options.pageSize,
  });
  const user = emu.control.createUser({ name: 'worker', email: 'worker@example.com' });
  const tuple = emu.control.createSession({ members: [user.user_id] });
  const ref = { revision_id: tuple.revision_id, session_id: tuple.session_id };
  emu.control.uploadObject(user.user_id, ref, ALIAS, { type: 'thread', thread: { metadata: {} } });
  const api = new BlobHubClient({
    apiUrl: emu.apiUrl,
    apiKey: user.api_key,
    backoffMaxMs: 50,
    requestTimeoutMs: 5_000,
  });
  const tmp = await tempDir('bhw-outbox-');
  const logs: LogRecord[] = [];
  const logger = createLogger({ sinks: [(r) => logs.push(r)], minLevel: 'debug' });
  const fatal: WorkerError[] = [];
  const transient: WorkerError[] = [];
  const journalPath = join(tmp.path, 'threads', ALIAS, 'outbox.jsonl');
  const items = (alias = ALIAS): ThreadItem[] => emu.control.listItems(ref, alias) as ThreadItem[];
  return {
    emu,
    api,
    apiKey: user.api_key,
    userId: user.user_id,
    ref,
    dir: tmp.path,
    journalPath,
    logs,
    logger,
    fatal,
    transient,
    open: (overrides = {}) =>
      Outbox.open({
        api,
        ref,
        alias: ALIAS,
        journalPath,
        logger,
        backoffMaxMs: 50,
        onFatal: (e) => fatal.push(e),
        onTransientError: (e) => transient.push(e),
        ...overrides,
      }),
    items,
    emissionIds: (alias = ALIAS) => items(alias).map((i) => String(i.metadata?.emission_id)),
    cleanup: async () => {
      api.close();
      await emu.close();
      await tmp.cleanup();
    },
  };
}

/**
 * Resolves once no post is held by the emulator any more: a full event-loop turn first (so a request a client
 * already wrote — e.g. one abandoned by a closed outbox or a killed process — has been received), then every
 * mutating request received has been applied. Only for rigs whose faults never refuse a post (latency,
 * drop_after): a refused or dropped-before post is never applied.
 */
export async function postsLanded(rig: Pick<Rig, 'emu'>, timeoutMs = 10_000): Promise<void> {
  await new Promise((r) => setImmediate(() => setImmediate(r)));
  await waitFor(
    () => {
      const c = rig.emu.control.counters();
      return c.mutating === c.mutationsApplied;
    },
    'every post the emulator received to be applied',
    { timeoutMs },
  );
}

/** Bounded wait for a promise. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `fn` with a fresh rig, always cleaning up. */
export async function withRig(options: Parameters<typeof makeRig>[0], fn: (rig: Rig) => Promise<void>): Promise<void> {
  const rig = await makeRig(options);
  try {
    await fn(rig);
  } finally {
    await rig.cleanup();
  }
}
