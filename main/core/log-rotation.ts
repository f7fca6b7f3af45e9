/**
 * Size rotation of the worker's log files (README Configuration, `logs:`): `thread.log`, `section.log` and the
 * worker's own log. A file that would grow past `maxBytes` is renamed `<name>.1` (the previous `.1` becomes `.2`,
 * and so on up to `<name>.<keep>`; the oldest beyond `keep` is deleted) and a fresh file is started. A record is
 * never split: one larger than `maxBytes` is written whole into a fresh file. So `thread.log` keeps every byte of
 * agent stdio untruncated across `thread.log`, `thread.log.1` … `thread.log.<keep>`, and only what rotates past
 * the kept count is gone.
 *
 * Writes are synchronous on an append-mode fd (order kept, a crash right after a write loses nothing). An I/O
 * failure throws to the caller and releases the fd, so the next write opens the file again: a full disk or a
 * removed folder heals by itself once fixed (`RetryingLogFile` adds the warn-once around it).
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface RotationOptions {
  /** A file is rotated before a write would take it past this size (bytes). */
  maxBytes: number;
  /** Rotated files kept next to the live one (`<name>.1` newest … `<name>.<keep>` oldest). */
  keep: number;
}

/** Documented defaults (README Configuration): 10 MiB, 5 rotated files. */
export const DEFAULT_ROTATION: RotationOptions = { maxBytes: 10 * 1024 * 1024, keep: 5 };

/** The n-th rotated file of `path` (1 = the newest). */
export const rotatedPath = (path: string, n: number): string => `${path}.${n}`;

export class RotatingFile {
  private fd: number | null = null;
  private size = 0;

  constructor(
    readonly path: string,
    private rotation: RotationOptions = DEFAULT_ROTATION,
  ) {}

  /** New limits apply from the next write (a config reload). */
  setRotation(rotation: RotationOptions): void {
    this.rotation = rotation;
  }

  /** Appends `text` whole; throws on an I/O error (and releases the fd, so the next call starts over). */
  append(text: string): void {
    const data = Buffer.from(text, 'utf8');
    try {
      if (this.fd === null) this.open();
      if (this.size > 0 && this.size + data.length > this.rotation.maxBytes) this.rotate();
      let off = 0;
      while (off < data.length) off += writeSync(this.fd!, data, off, data.length - off);
      this.size += data.length;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }

  private open(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    shiftRotated(this.path, this.rotation.keep);
    this.open();
  }
}

/**
 * Renames `path` to `<path>.1`, `.1` to `.2` … up to `.<keep>` (the oldest beyond it deleted). Also the desktop
 * log's rotation (electron-log's `archiveLogFn`, main/desktop/log-sink.ts).
 */
export function shiftRotated(path: string, keep: number): void {
  const kept = Math.max(1, Math.floor(keep));
  removeQuietly(rotatedPath(path, kept));
  for (let n = kept - 1; n >= 1; n--) renameQuietly(rotatedPath(path, n), rotatedPath(path, n + 1));
  renameSync(path, rotatedPath(path, 1));
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

function renameQuietly(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** What a log file reports about itself (the owner logs it somewhere that still works). */
export interface LogFileProblem {
  event: 'log_write_failed' | 'log_write_recovered';
  path: string;
  message: string;
  /** errno code of the failure (`ENOSPC`, `EISDIR`, …). */
  errno?: string;
  /** Records that could not be written while failing (on recovery). */
  lost?: number;
}

/**
 * A RotatingFile that never throws: a failed write is counted, the first failure of a run is reported once
 * (`log_write_failed`), and every later write tries again; the first one that succeeds reports
 * `log_write_recovered` with the number of records lost, and `gapRecord` (when given) is written first so the
 * file itself says where the hole is.
 */
export class RetryingLogFile {
  private readonly file: RotatingFile;
  private failing = false;
  private lost = 0;

  constructor(
    readonly path: string,
    rotation: RotationOptions = DEFAULT_ROTATION,
    private readonly onProblem: (problem: LogFileProblem) => void = () => undefined,
    private readonly gapRecord?: (lost: number) => string,
  ) {
    this.file = new RotatingFile(path, rotation);
  }

  setRotation(rotation: RotationOptions): void {
    this.file.setRotation(rotation);
  }

  /** True while writes fail. */
  get isFailing(): boolean {
    return this.failing;
  }

  append(text: string): void {
    try {
      if (this.failing && this.gapRecord) this.file.append(this.gapRecord(this.lost));
      this.file.append(text);
    } catch (e) {
      this.lost++;
      if (!this.failing) {
        this.failing = true;
        const err = e as NodeJS.ErrnoException;
        this.report({
          event: 'log_write_failed',
          path: this.path,
          message: `cannot write ${this.path} (${err.code ?? err.message}); retrying with every record`,
          ...(err.code ? { errno: err.code } : {}),
        });
      }
      return;
    }
    if (this.failing) {
      const lost = this.lost;
      this.failing = false;
      this.lost = 0;
      this.report({
        event: 'log_write_recovered',
        path: this.path,
        message: `${this.path} is writable again; ${lost} record(s) could not be written meanwhile`,
        lost,
      });
    }
  }

  close(): void {
    this.file.close();
  }

  private report(problem: LogFileProblem): void {
    try {
      this.onProblem(problem);
    } catch {
      // Reporting must never take the writer down.
    }
  }
}
