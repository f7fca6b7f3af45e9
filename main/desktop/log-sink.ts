/**
 * Adapts the core's JSON-line Logger to electron-log (the app writes `<state root>/logs/desktop.log` with
 * rotation). The electron-log specific calls stay in main/electron/logging.ts; this is the pure mapping and
 * the redaction hook, so it is tested under plain Node.
 */
import { mkdirSync, chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact, type LogRecord, type LogSink } from '../core/log';
import { StatePaths, ensureStateRoot } from '../core/state/paths';
import { DEFAULT_ROTATION, shiftRotated, type RotationOptions } from '../core/log-rotation';
import { parseConfigText, rotationOf } from '../core/state/config';

/** The slice of electron-log's functions the sink needs. */
export interface LevelWriter {
  debug(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
}

export function electronLogSink(writer: LevelWriter): LogSink {
  return (record: LogRecord) => {
    const line = JSON.stringify(record);
    if (record.level === 'debug') writer.debug(line);
    else if (record.level === 'info') writer.info(line);
    else if (record.level === 'warning') writer.warn(line);
    else writer.error(line);
  };
}

/** electron-log hook body: every string (and every Error message) redacted before any transport sees it. */
export function redactLogData(data: unknown[]): unknown[] {
  return data.map((d) => {
    if (typeof d === 'string') return redact(d);
    if (d instanceof Error) return redact(`${d.name}: ${d.message}`);
    if (d !== null && typeof d === 'object') {
      try {
        return redact(JSON.stringify(d));
      } catch {
        return '[unserialisable]';
      }
    }
    return d;
  });
}

/**
 * Rotation: electron-log hands the file to `archiveLogFn` when it reaches `maxSize`; ours shifts it to
 * `desktop.log.1` … `desktop.log.<keep>` like every other log (config.yaml `logs:`, main/core/log-rotation.ts).
 */
export const LOG_MAX_BYTES = DEFAULT_ROTATION.maxBytes;
export const DESKTOP_LOG_FILE = 'desktop.log';

/** The `logs:` rotation of the state root's config.yaml at app start; the defaults when it is missing or invalid. */
export function desktopLogRotation(stateRoot: string): RotationOptions {
  try {
    const paths = new StatePaths(stateRoot);
    return rotationOf(parseConfigText(readFileSync(paths.config, 'utf8'), paths.config).config.logs);
  } catch {
    return DEFAULT_ROTATION;
  }
}

/** Log files are for the worker user only, like everything else under the state root. */
export const LOG_FILE_MODE = 0o600;

type LevelOption = string | false;

/** The slice of an electron-log logger (`electron-log/main` in the app, `electron-log/node` in tests) set up here. */
export interface ConfigurableLog<M extends { data: unknown[] }> {
  transports: {
    file: {
      resolvePathFn: (...args: never[]) => string;
      maxSize: number;
      archiveLogFn?: (oldLogFile: never) => void;
      level: LevelOption;
      writeOptions?: { flag?: string; mode?: number; encoding?: string };
    };
    console: { level: LevelOption };
    /** electron-log/main only: in an unpackaged app it sends every record to every window (main → renderer). */
    ipc?: { level: LevelOption } | null;
  };
  hooks: Array<(message: M, ...rest: never[]) => M | false>;
}

/**
 * Sets up electron-log for the app and returns the log file's path: `<state root>/logs/desktop.log`, rotated at
 * `rotation.maxBytes` into `rotation.keep` files, mode 0600 in 0700 folders (electron-log would create them 0755/0644 on a first start), every
 * record redacted by a hook, and the IPC transport off (the app's records never go to a window).
 */
export function configureDesktopLog<M extends { data: unknown[] }>(
  log: ConfigurableLog<M>,
  stateRoot: string,
  options: { debugConsole?: boolean; rotation?: RotationOptions } = {},
): string {
  ensureStateRoot(stateRoot);
  const dir = new StatePaths(stateRoot).logsDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = join(dir, DESKTOP_LOG_FILE);
  log.transports.file.resolvePathFn = () => file;
  const rotation = options.rotation ?? DEFAULT_ROTATION;
  log.transports.file.maxSize = rotation.maxBytes;
  log.transports.file.archiveLogFn = (old: { path: string }) => {
    try {
      shiftRotated(old.path, rotation.keep);
    } catch {
      // electron-log goes on writing the same file; the next rotation tries again.
    }
  };
  log.transports.file.level = 'debug';
  log.transports.file.writeOptions = { flag: 'a', mode: LOG_FILE_MODE, encoding: 'utf8' };
  log.transports.console.level = options.debugConsole ? 'debug' : 'warn';
  if (log.transports.ipc) log.transports.ipc.level = false;
  log.hooks.push((message) => Object.assign({}, message, { data: redactLogData(message.data) }));
  // A desktop.log left by an older version keeps its mode otherwise (electron-log only sets it on create).
  try {
    chmodSync(file, LOG_FILE_MODE);
  } catch {
    // Not there yet: electron-log creates it with writeOptions.mode.
  }
  return file;
}
