/**
 * `blobhub-worker start`: preflight, then run until SIGINT/SIGTERM, then stop cleanly (lock removed, exit 0).
 * A preflight code ends the process with its exit status (protocol §2) via the caller's error printer.
 *
 * The seam: `startHeadless` runs the WorkerHost (`main/core/worker.ts`) and returns it running, or throws the
 * snapshot's `preflight_error` as a WorkerError.
 */
import { ERROR_CODES, WorkerError, type ErrorCode } from '../../core/errors';
import { createLogger, streamSink, type Logger } from '../../core/log';
import { createWorkerHost, type LocalWorkerHost } from '../../core/worker';
import type { StatePaths } from '../../core/state/paths';
import { DEFAULT_ROTATION } from '../../core/log-rotation';
import { loadConfigFile, rotationOf } from '../../core/state/config';
import { VERSION } from '../../version';
import type { ParsedArgs } from '../args';
import { writeJson } from '../output';
import { capabilitiesOf, performAction } from '../tui/actions';
import { deferredSink, lineFileSink, workerLogPath } from '../tui/log-file';
import type { TuiRun } from '../tui/run';
import { hostTranscripts } from '../tui/transcript-source';

export interface HeadlessWorker {
  instanceId: string;
  userId: string;
  sections: number;
  host: LocalWorkerHost;
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
    host,
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

/**
 * `--tui` needs a terminal on both ends: stdout to draw on, stdin for keys. Without one (a pipe, systemd, CI)
 * the worker runs headless instead, after saying so on one stderr line (docs/cli.md "start --tui").
 */
function tuiFallbackReason(): string | null {
  if (!process.stdout.isTTY) return 'stdout is not a terminal';
  if (!process.stdin.isTTY) return 'stdin is not a terminal';
  return null;
}

export async function startCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  let tui = args.tui;
  if (tui) {
    const reason = tuiFallbackReason();
    if (reason) {
      process.stderr.write(
        `blobhub-worker: --tui needs a terminal (${reason}); running headless, JSON log lines on stderr\n`,
      );
      tui = false;
    }
  }
  // In TUI mode the log lines go to logs/{instance_id}/worker.jsonl (protocol §12) once preflight named the
  // instance; until then they wait, and a failed preflight hands them to stderr like headless mode does.
  const held = tui ? deferredSink() : null;
  const logger = createLogger({
    sinks: [held ? held.sink : streamSink(process.stderr)],
    fields: { component: 'worker' },
  });
  // A second signal forces the exit (once running, the lock is still removed by the exit hook below).
  const signals = listenForStopSignals(() => {
    logger.warn('forced_exit', 'second signal; exiting without waiting');
    process.exit(130);
  });
  // Nothing is logged before preflight: a failure prints exactly one JSON line (protocol §2).
  let worker: HeadlessWorker;
  try {
    worker = await startHeadless(paths, logger);
  } catch (e) {
    held?.attach(streamSink(process.stderr));
    signals.dispose();
    throw e;
  }
  const hardExit = (): void => worker.stopSync();
  process.on('exit', hardExit);
  let logFile: { path: string; close(): void } | null = null;
  if (held) {
    const path = workerLogPath(paths.logsDir, worker.instanceId);
    // Preflight read config.yaml already; it is valid, only its `logs:` block matters here.
    const rotation = await loadConfigFile(paths.config).then(
      (c) => rotationOf(c.config.logs),
      () => DEFAULT_ROTATION,
    );
    const file = lineFileSink(path, rotation, (p) =>
      p.event === 'log_write_failed'
        ? logger.warn('worker_log_write_failed', p.message, { code: 'STATE_IO_ERROR', path: p.path })
        : logger.info('worker_log_recovered', p.message, { path: p.path, lost: p.lost }),
    );
    held.attach(file.sink);
    logFile = { path, close: () => file.close() };
  }
  const ready = {
    event: 'started',
    version: VERSION,
    state_root: paths.root,
    instance_id: worker.instanceId,
    user_id: worker.userId,
    sections: worker.sections,
    pid: process.pid,
  };
  let dashboard: TuiRun | null = null;
  // Asked to stop during preflight: no `started` line, straight to the clean stop.
  if (!signals.isReceived()) {
    if (tui) {
      logger.info('started', `worker running (${worker.sections} section(s)) with the terminal dashboard`, {
        ...ready,
        log_file: logFile?.path,
      });
      // Loaded only for --tui: ink, React and yoga's WebAssembly stay out of a headless worker's memory.
      const { runTui } = await import('../tui/run');
      dashboard = runTui({
        host: worker.host,
        capabilities: capabilitiesOf(worker.host),
        transcripts: hostTranscripts(worker.host),
        perform: (action) => performAction(worker.host, action),
      });
    } else {
      logger.info('started', `worker running (${worker.sections} section(s)); stop with Ctrl-C or SIGTERM`, ready);
      if (args.json) writeJson(ready);
      else
        process.stdout.write(
          `Worker running as ${worker.userId} (instance ${worker.instanceId}). Press Ctrl-C to stop.\n`,
        );
    }
  }

  const reason = await Promise.race([
    signals.received,
    dashboard ? dashboard.quitRequested.then(() => 'q' as const) : new Promise<never>(() => undefined),
  ]);
  logger.info('stopping', reason === 'q' ? 'q pressed in the dashboard; stopping' : `received ${reason}; stopping`, {
    signal: reason === 'q' ? null : reason,
  });
  try {
    await worker.stop();
  } catch (e) {
    throw e instanceof WorkerError ? e : new WorkerError('INTERNAL_ERROR', `stop failed: ${(e as Error).message}`);
  } finally {
    await dashboard?.close();
    process.off('exit', hardExit);
    signals.dispose();
  }
  logger.info('stopped', 'worker stopped');
  logFile?.close();
  if (dashboard)
    process.stdout.write(`Worker stopped (instance ${worker.instanceId}).\nLog: ${logFile?.path ?? '-'}\n`);
  return 0;
}
