/**
 * Where `start --tui` sends the worker's JSON log lines (protocol §12): `logs/{instance_id}/worker.jsonl`
 * under the state root, appended, one whole line per write. The instance id exists only once preflight took
 * the lock, so records logged before that (config warnings) wait in a buffer and go to the file — or, when
 * preflight fails and there is no dashboard, to stderr as in headless mode.
 */
import { join } from 'node:path';
import type { LogRecord, LogSink } from '../../core/log';
import { DEFAULT_ROTATION, RotatingFile, type RotationOptions } from '../../core/log-rotation';

export function workerLogPath(logsDir: string, instanceId: string): string {
  return join(logsDir, instanceId, 'worker.jsonl');
}

/**
 * An append-mode file sink that writes each record synchronously: "line-buffered" in the strict sense — a
 * line is on disk when the call returns, so a forced exit (second Ctrl-C, 130) loses nothing. The file rotates
 * like the worker's other logs (`logs.max_bytes` / `logs.keep`, README Configuration).
 */
export function lineFileSink(
  path: string,
  rotation: RotationOptions = DEFAULT_ROTATION,
): { sink: LogSink; close(): void } {
  const file = new RotatingFile(path, rotation);
  let failed = false;
  return {
    sink: (record) => {
      if (failed) return;
      try {
        file.append(JSON.stringify(record) + '\n');
      } catch {
        // A full disk must not take the worker down; the dashboard still shows what matters.
        failed = true;
      }
    },
    close: () => file.close(),
  };
}

/** A sink that holds records until `attach` names the real sink (and hands it the held ones, in order). */
export function deferredSink(limit = 1000): { sink: LogSink; attach(target: LogSink): void } {
  let held: LogRecord[] = [];
  let target: LogSink | null = null;
  return {
    sink: (record) => {
      if (target) return target(record);
      if (held.length < limit) held.push(record);
    },
    attach: (t) => {
      target = t;
      const pending = held;
      held = [];
      for (const r of pending) t(r);
    },
  };
}
