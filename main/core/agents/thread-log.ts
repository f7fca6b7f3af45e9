/**
 * `threads/{alias}/logs/thread.log`: one JSON object per line, appended, never truncated (protocol §7).
 * Agent stdio records are `{ts, src:"agent", dir:"stdin"|"stdout"|"stderr", line}`; the harness appends its own
 * records with `src:"worker"` and whatever fields it needs, so the record type stays open.
 *
 * Writes are synchronous on an append-mode fd (main/core/log-rotation.ts): records keep their exact order, and a
 * crash of the worker right after an agent line cannot lose it. The file rotates by size (`logs:` in config.yaml):
 * the bytes move to `thread.log.1` … `thread.log.<keep>` whole, so every byte stays on disk up to the kept count.
 * A write that fails (full disk, removed folder, a directory in the way) is reported once through `onProblem`
 * and retried with every later record; the first record that lands again is preceded by a `thread_log_gap`
 * record saying how many were lost. It never takes an agent or the worker down.
 */
import { DEFAULT_ROTATION, RetryingLogFile, type LogFileProblem, type RotationOptions } from '../log-rotation';

export interface ThreadLogRecord {
  /** ISO timestamp; filled in by `append` when absent. */
  ts?: string;
  src: 'agent' | 'worker' | (string & {});
  dir?: 'stdin' | 'stdout' | 'stderr';
  line?: string;
  [key: string]: unknown;
}

export interface ThreadLogOptions {
  rotation?: RotationOptions;
  /** Told once when writes start failing and once when they work again (the harness logs it). */
  onProblem?: (problem: LogFileProblem) => void;
}

export class ThreadLog {
  private readonly file: RetryingLogFile;

  constructor(
    readonly path: string,
    options: ThreadLogOptions = {},
  ) {
    this.file = new RetryingLogFile(path, options.rotation ?? DEFAULT_ROTATION, options.onProblem, (lost) =>
      line({ src: 'worker', event: 'thread_log_gap', lost }),
    );
  }

  append(record: ThreadLogRecord): void {
    this.file.append(line(record));
  }

  /** True while writes fail (they are retried with every record). */
  get isFailing(): boolean {
    return this.file.isFailing;
  }

  setRotation(rotation: RotationOptions): void {
    this.file.setRotation(rotation);
  }

  close(): void {
    this.file.close();
  }
}

function line(record: ThreadLogRecord): string {
  const { ts, ...rest } = record;
  return JSON.stringify({ ts: ts ?? new Date().toISOString(), ...rest }) + '\n';
}
