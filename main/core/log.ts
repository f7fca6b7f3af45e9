import { DEFAULT_ROTATION, RetryingLogFile, type LogFileProblem, type RotationOptions } from './log-rotation';

/**
 * Structured JSON-line logging (protocol §12): `{ts, level, event, code?, section?, thread?, msg, ...}`.
 * Every record passes through the redactor, so a registered secret (the API key) can never reach a sink.
 * Sinks are plain functions so the CLI (stderr), files (section.log) and electron-log can all plug in.
 */

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface LogRecord {
  ts: string;
  level: LogLevel;
  event: string;
  msg: string;
  code?: string;
  section?: string;
  thread?: string;
  [key: string]: unknown;
}

export type LogSink = (record: LogRecord) => void;

export interface Logger {
  debug(event: string, msg: string, fields?: Record<string, unknown>): void;
  info(event: string, msg: string, fields?: Record<string, unknown>): void;
  warn(event: string, msg: string, fields?: Record<string, unknown>): void;
  error(event: string, msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every record (e.g. `{section}`), optionally with extra sinks. */
  child(fields: Record<string, unknown>, extraSinks?: LogSink[]): Logger;
}

const secrets = new Set<string>();

/** Registers a value that must never appear in any log record, error message or item. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) secrets.add(value);
}

/** Replaces every registered secret (and anything shaped like a BlobHub key) with a mask. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  }
  return out.replace(/bhk_[A-Za-z0-9_-]{6,}/g, 'bhk_[REDACTED]');
}

function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      /^(api_?key|key|x-api-key|authorization)$/i.test(k) && typeof v === 'string'
        ? '[REDACTED]'
        : redactValue(v, depth + 1);
  }
  return out;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };

export interface LoggerOptions {
  sinks: LogSink[];
  minLevel?: LogLevel;
  fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const minRank = LEVEL_RANK[options.minLevel ?? 'info'];
  const base = options.fields ?? {};
  const emit = (level: LogLevel, event: string, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_RANK[level] < minRank) return;
    const record = redactValue({ ts: new Date().toISOString(), level, event, msg, ...base, ...fields }) as LogRecord;
    for (const sink of options.sinks) {
      try {
        sink(record);
      } catch {
        // A broken sink (closed pipe, full disk) must never take the worker down.
      }
    }
  };
  return {
    debug: (e, m, f) => emit('debug', e, m, f),
    info: (e, m, f) => emit('info', e, m, f),
    warn: (e, m, f) => emit('warning', e, m, f),
    error: (e, m, f) => emit('error', e, m, f),
    child: (fields, extraSinks = []) =>
      createLogger({
        sinks: [...options.sinks, ...extraSinks],
        minLevel: options.minLevel,
        fields: { ...base, ...fields },
      }),
  };
}

/** Sink writing one JSON line per record to a stream (stderr for the headless CLI). */
export function streamSink(stream: NodeJS.WritableStream): LogSink {
  return (record) => {
    stream.write(JSON.stringify(record) + '\n');
  };
}

/** A logger that drops everything; for tests and tools that do not log. */
export const silentLogger: Logger = createLogger({ sinks: [] });

/** A sink whose file descriptor can be released; the next record opens the file again. */
export type FileLogSink = LogSink & { close(): Promise<void> };

/** The JSON line a rotating log writes where records were lost (the file could not be written for a while). */
export function logGapLine(lost: number): string {
  return (
    JSON.stringify({
      ts: new Date().toISOString(),
      level: 'warning',
      event: 'log_gap',
      msg: `${lost} record(s) could not be written`,
      lost,
    }) + '\n'
  );
}

/**
 * Sink appending JSON lines to a file (section.log); the folder is created on first use. Each record is written
 * synchronously (main/core/log-rotation.ts: order kept, rotated by size into `<file>.1` … `<file>.<keep>`). The
 * file is opened on the first record and again after `close()`, so an owner that stops (a section halted on
 * reload or sign-out) gives its descriptor back and one that starts again keeps logging. A write that fails is
 * reported once through `onProblem` and retried with every later record (a `log_gap {lost}` record marks the
 * hole once it works again).
 */
export function fileSink(
  path: string,
  rotation: RotationOptions = DEFAULT_ROTATION,
  onProblem?: (problem: LogFileProblem) => void,
): FileLogSink {
  const file = new RetryingLogFile(path, rotation, onProblem, logGapLine);
  const sink = ((record) => file.append(JSON.stringify(record) + '\n')) as FileLogSink;
  sink.close = () => {
    file.close();
    return Promise.resolve();
  };
  return sink;
}
