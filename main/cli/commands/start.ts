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
 * Listens for SIGINT/SIGTERM from the very start of `start`: a supervisor that sends SIGTERM as soon as it reads the
 * `started` line (or during preflight) must get a clean stop, never Node's default kill-by-signal.
 */
function listenForStopSignal(): { received: Promise<NodeJS.Signals>; keepAlive(): void; dispose(): void } {
  let timer: NodeJS.Timeout | undefined;
  let disposed = false;
  let resolveSignal: (sig: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  const dispose = (): void => {
    disposed = true;
    if (timer) clearInterval(timer);
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  function on(sig: NodeJS.Signals): void {
    dispose();
    resolveSignal(sig);
  }
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    received,
    // Signal listeners do not keep Node alive; this timer does, until a signal arrives.
    keepAlive: () => {
      if (!disposed) timer ??= setInterval(() => undefined, 1 << 30);
    },
    dispose,
  };
}

export async function startCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const logger = createLogger({ sinks: [streamSink(process.stderr)], fields: { component: 'worker' } });
  const stopSignal = listenForStopSignal();
  // Nothing is logged before preflight: a failure prints exactly one JSON line (decisions §2).
  let worker: HeadlessWorker;
  try {
    worker = await startHeadless(paths, logger);
  } catch (e) {
    stopSignal.dispose();
    throw e;
  }
  stopSignal.keepAlive();
  const hardExit = (): void => worker.stopSync();
  process.on('exit', hardExit);
  const ready = { event: 'started', version: VERSION, state_root: paths.root, instance_id: worker.instanceId, user_id: worker.userId, sections: worker.sections, pid: process.pid };
  logger.info('started', `worker running (${worker.sections} section(s)); stop with Ctrl-C or SIGTERM`, ready);
  if (args.json) writeJson(ready);
  else process.stdout.write(`Worker running as ${worker.userId} (instance ${worker.instanceId}). Press Ctrl-C to stop.\n`);

  const signal = await stopSignal.received;
  logger.info('stopping', `received ${signal}; stopping`, { signal });
  // A second signal while stopping forces the exit (the lock is still removed by the exit hook).
  const force = (): void => {
    logger.warn('forced_exit', 'second signal; exiting without waiting');
    process.exit(130);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    await worker.stop();
  } catch (e) {
    throw e instanceof WorkerError ? e : new WorkerError('INTERNAL_ERROR', `stop failed: ${(e as Error).message}`);
  } finally {
    process.off('exit', hardExit);
  }
  logger.info('stopped', 'worker stopped');
  return 0;
}
