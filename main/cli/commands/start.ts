/**
 * `blobhub-worker start`: preflight, then run until SIGINT/SIGTERM, then stop cleanly (lock removed, exit 0).
 * A preflight code ends the process with its exit status (decisions §2) via the caller's error printer.
 *
 * The seam: `startHeadless` returns a running worker or throws the preflight `WorkerError`. When the harness
 * (`main/core/worker.ts`, a WorkerHost) lands, only `startHeadless` changes: build the host, `await
 * host.start()`, throw the snapshot's `preflight_error` as a WorkerError, and `stop()` becomes `host.stop()`.
 */
import { WorkerError } from '../../core/errors';
import { createLogger, streamSink, type Logger } from '../../core/log';
import { runPreflight } from '../../core/preflight';
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
  const pre = await runPreflight({ paths, logger });
  // Until the harness lands the worker holds the lock and idles; the harness runs the sections here.
  return {
    instanceId: pre.lock.instanceId,
    userId: pre.identity.user_id,
    sections: pre.config.sections.length,
    async stop() {
      pre.client.close();
      await pre.lock.release();
    },
    stopSync() {
      pre.lock.releaseSync();
    },
  };
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function startCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const logger = createLogger({ sinks: [streamSink(process.stderr)], fields: { component: 'worker' } });
  // Nothing is logged before preflight: a failure prints exactly one JSON line (decisions §2).
  const worker = await startHeadless(paths, logger);
  const hardExit = (): void => worker.stopSync();
  process.on('exit', hardExit);
  const ready = { event: 'started', version: VERSION, state_root: paths.root, instance_id: worker.instanceId, user_id: worker.userId, sections: worker.sections, pid: process.pid };
  logger.info('started', `worker running (${worker.sections} section(s)); stop with Ctrl-C or SIGTERM`, ready);
  if (args.json) writeJson(ready);
  else process.stdout.write(`Worker running as ${worker.userId} (instance ${worker.instanceId}). Press Ctrl-C to stop.\n`);

  const signal = await waitForStopSignal();
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
