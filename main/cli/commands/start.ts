/**
 * `blobhub-worker start`: preflight, then run until SIGINT/SIGTERM, then stop cleanly (lock removed, exit 0).
 * A preflight code ends the process with its exit status (decisions §2) via the caller's error printer.
 *
 * The seam: `startHeadless` runs the WorkerHost (`main/core/worker.ts`) and returns it running, or throws the
 * snapshot's `preflight_error` as a WorkerError.
 */
import { ERROR_CODES, WorkerError, type ErrorCode } from '../../core/errors';
import { createLogger, streamSink, type Logger } from '../../core/log';
import { createWorkerHost } from '../../core/worker';
import type { StatePaths } from '../../core/state/paths';
import { VERSION } from '../../version';
import type { ParsedArgs } from '../args';
import { writeJson } from '../output';

export interface HeadlessWorker {
  instanceId: string;
  userId: string;
  sections: number;
  /** Graceful stop; removes the lock. */
  stop(): Promise<void>;
  /** Last-resort cleanup on a hard exit. */
  stopSync(): void;
}

export async function startHeadless(paths: StatePaths, logger: Logger): Promise<HeadlessWorker> {
  const host = createWorkerHost({ home: paths.root, logger });
  await host.start();
  const snap = host.snapshot();
  if (snap.phase !== 'running') {
    // The host records a preflight failure instead of throwing (the desktop shows it); the CLI exits with it.
    const e = snap.preflight_error;
    const code = (e && e.code in ERROR_CODES ? e.code : 'INTERNAL_ERROR') as ErrorCode;
    throw new WorkerError(code, e?.message ?? `the worker did not start (${snap.phase})`);
  }
  return {
    instanceId: snap.instance_id ?? '',
    userId: snap.identity?.user_id ?? '',
    sections: snap.sections.length,
    stop: () => host.stop(),
    stopSync: () => host.releaseLockSync(),
  };
}

/**
 * Listens for SIGINT/SIGTERM from the very start of `start`: a supervisor that sends SIGTERM as soon as it reads
 * the `started` line (or during preflight) must get a clean stop, never Node's default kill-by-signal. The first
 * signal resolves `received`; any later one calls `onRepeat` (the forced exit).
 */
function listenForStopSignals(onRepeat: () => void): {
  received: Promise<NodeJS.Signals>;
  isReceived(): boolean;
  dispose(): void;
} {
  let first: NodeJS.Signals | null = null;
  let resolveSignal: (sig: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  // Signal listeners do not keep Node alive; this timer does, until the first signal arrives.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const on = (sig: NodeJS.Signals): void => {
    if (first) return onRepeat();
    first = sig;
    clearInterval(keepAlive);
    resolveSignal(sig);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    received,
    isReceived: () => first !== null,
    dispose: () => {
      clearInterval(keepAlive);
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

export async function startCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const logger = createLogger({ sinks: [streamSink(process.stderr)], fields: { component: 'worker' } });
  // A second signal forces the exit (once running, the lock is still removed by the exit hook below).
  const signals = listenForStopSignals(() => {
    logger.warn('forced_exit', 'second signal; exiting without waiting');
    process.exit(130);
  });
  // Nothing is logged before preflight: a failure prints exactly one JSON line (decisions §2).
  let worker: HeadlessWorker;
  try {
    worker = await startHeadless(paths, logger);
  } catch (e) {
    signals.dispose();
    throw e;
  }
  const hardExit = (): void => worker.stopSync();
  process.on('exit', hardExit);
  // Asked to stop during preflight: no `started` line, straight to the clean stop.
  if (!signals.isReceived()) {
    const ready = {
      event: 'started',
      version: VERSION,
      state_root: paths.root,
      instance_id: worker.instanceId,
      user_id: worker.userId,
      sections: worker.sections,
      pid: process.pid,
    };
    logger.info('started', `worker running (${worker.sections} section(s)); stop with Ctrl-C or SIGTERM`, ready);
    if (args.json) writeJson(ready);
    else
      process.stdout.write(
        `Worker running as ${worker.userId} (instance ${worker.instanceId}). Press Ctrl-C to stop.\n`,
      );
  }

  const signal = await signals.received;
  logger.info('stopping', `received ${signal}; stopping`, { signal });
  try {
    await worker.stop();
  } catch (e) {
    throw e instanceof WorkerError ? e : new WorkerError('INTERNAL_ERROR', `stop failed: ${(e as Error).message}`);
  } finally {
    process.off('exit', hardExit);
    signals.dispose();
  }
  logger.info('stopped', 'worker stopped');
  return 0;
}
