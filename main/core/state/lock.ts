/**
 * The single-instance lock `instance.yaml` (protocol §2, §4.1): created atomically and exclusively
 * (link of a fully written temp file, so a reader never sees half a lock). A file whose pid is alive means
 * `WORKER_ALREADY_RUNNING`; a dead pid or an unreadable/garbled file is stale and replaced once.
 *
 * Only the pid is tested (`kill(pid, 0)`; EPERM = alive, the pid exists under another user). The `host` field
 * is informational: hostnames change with networks on laptops, and a lock that can never be cleared would be
 * worse than the rare shared-home-across-hosts setup.
 */
import { promises as fs, readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { VERSION } from '../../version';
import { WorkerError } from '../errors';
import { newInstanceId } from '../ids';
import { silentLogger, type Logger } from '../log';
import type { StatePaths } from './paths';
import { InstanceFile } from './schemas';
import { parseYamlText, writeYamlAtomic } from './yaml-file';

export type InstanceInfo = InstanceFile['instance'];

export interface InstanceLock {
  readonly path: string;
  readonly info: InstanceInfo;
  readonly instanceId: string;
  /** Removes the file if it still holds our instance_id (idempotent). */
  release(): Promise<void>;
  /** Synchronous variant for `process.on('exit')` paths. */
  releaseSync(): void;
}

/** Is a process with this pid alive? EPERM means it exists but belongs to someone else. */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type LockFileState =
  | { kind: 'absent' }
  | { kind: 'invalid'; text: string }
  | { kind: 'held'; info: InstanceInfo; alive: boolean; text: string };

/** Reads instance.yaml without judging it (used by acquire and by `status`). */
export async function readInstanceFile(path: string): Promise<LockFileState> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent' };
    throw new WorkerError('STATE_IO_ERROR', `${path} cannot be read (${code ?? 'error'})`);
  }
  return judge(text);
}

function judge(text: string): LockFileState {
  let raw: unknown;
  try {
    raw = parseYamlText(text, 'instance.yaml');
  } catch {
    return { kind: 'invalid', text };
  }
  const parsed = InstanceFile.safeParse(raw);
  if (!parsed.success) return { kind: 'invalid', text };
  const info = parsed.data.instance;
  // Our own pid in someone else's file is a leftover from a dead process whose pid got reused by us.
  const alive = info.pid !== process.pid && isPidAlive(info.pid);
  return { kind: 'held', info, alive, text };
}

export interface AcquireOptions {
  logger?: Logger;
  now?: () => Date;
}

export async function acquireInstanceLock(paths: StatePaths, options: AcquireOptions = {}): Promise<InstanceLock> {
  const logger = options.logger ?? silentLogger;
  const path = paths.instance;
  const info: InstanceInfo = {
    instance_id: newInstanceId(),
    pid: process.pid,
    host: hostname(),
    version: VERSION,
    started_at: (options.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const create = (): Promise<void> => writeYamlAtomic(path, { instance: info }, { exclusive: true, mode: 0o600 });

  for (let round = 0; round < 2; round++) {
    try {
      await create();
      return makeLock(path, info);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new WorkerError('STATE_IO_ERROR', `cannot create ${path} (${code ?? 'error'})`);
    }
    const state = await readInstanceFile(path);
    if (state.kind === 'absent') continue; // Released between our create and read: just try again.
    if (state.kind === 'held' && state.alive) throw alreadyRunning(path, state.info);
    if (round === 1) break;
    // Stale. Re-read right before unlinking so we never remove a lock another starter just wrote.
    const again = await readInstanceFile(path);
    if (again.kind !== 'absent' && again.text !== state.text) continue;
    const why = state.kind === 'invalid' ? 'unreadable' : `pid ${state.info.pid} is not running`;
    logger.warn('stale_lock_replaced', `replacing stale ${path} (${why})`);
    await fs.unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT')
        throw new WorkerError('STATE_IO_ERROR', `cannot remove stale ${path} (${e.code ?? 'error'})`);
    });
  }
  // Lost a race with another starter twice: treat it as running.
  const final = await readInstanceFile(path);
  if (final.kind === 'held') throw alreadyRunning(path, final.info);
  throw new WorkerError('WORKER_ALREADY_RUNNING', `${path} is held by another starting worker`);
}

function alreadyRunning(path: string, info: InstanceInfo): WorkerError {
  return new WorkerError(
    'WORKER_ALREADY_RUNNING',
    `another worker is running (pid ${info.pid} on ${info.host}, instance ${info.instance_id}, started ${info.started_at}); lock file ${path}`,
    { pid: info.pid, instance_id: info.instance_id },
  );
}

function ours(text: string, instanceId: string): boolean {
  const s = judge(text);
  return s.kind === 'held' && s.info.instance_id === instanceId;
}

function makeLock(path: string, info: InstanceInfo): InstanceLock {
  let released = false;
  return {
    path,
    info,
    instanceId: info.instance_id,
    async release() {
      if (released) return;
      released = true;
      try {
        const text = await fs.readFile(path, 'utf8');
        if (ours(text, info.instance_id)) await fs.unlink(path);
      } catch {
        // Already gone (or unreadable): nothing of ours to remove.
      }
    },
    releaseSync() {
      if (released) return;
      released = true;
      try {
        if (ours(readFileSync(path, 'utf8'), info.instance_id)) unlinkSync(path);
      } catch {
        // As above.
      }
    },
  };
}
