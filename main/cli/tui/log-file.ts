/**
 * Where `start --tui` sends the worker's JSON log lines (protocol §12): `logs/{instance_id}/worker.jsonl`
 * under the state root, appended, one whole line per write. The instance id exists only once preflight took
 * the lock, so records logged before that (config warnings) wait in a buffer and go to the file — or, when
 * preflight fails and there is no dashboard, to stderr as in headless mode.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { logGapLine, type LogRecord, type LogSink } from '../../core/log';
import { DEFAULT_ROTATION, RetryingLogFile, type LogFileProblem, type RotationOptions } from '../../core/log-rotation';

export function workerLogPath(logsDir: string, instanceId: string): string {
  return join(logsDir, instanceId, 'worker.jsonl');
}

/**
 * An append-mode file sink that writes each record synchronously: "line-buffered" in the strict sense — a
 * line is on disk when the call returns, so a forced exit (second Ctrl-C, 130) loses nothing. The file rotates
 * by size (config.yaml `logs:`, main/core/log-rotation.ts); a write that fails (full disk) is retried with every
 * record instead of switching the file off, and a `log_gap {lost}` record marks the hole once it works again.
 */
export function lineFileSink(
  path: string,
  rotation: RotationOptions = DEFAULT_ROTATION,
  onProblem?: (problem: LogFileProblem) => void,
): { sink: LogSink; close(): void } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const file = new RetryingLogFile(path, rotation, onProblem, logGapLine);
  return {
    sink: (record) => file.append(JSON.stringify(record) + '\n'),
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
