/**
 * Adapts the core's JSON-line Logger to electron-log (the app writes `<state root>/logs/desktop.log` with
 * rotation). The electron-log specific calls stay in main/app/logging.ts; this is the pure mapping and
 * the redaction hook, so it is tested under plain Node.
 */
import { redact, type LogRecord, type LogSink } from '../core/log';

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

/** Rotation: electron-log renames the file to `.old.log` when it reaches this size. */
export const LOG_MAX_BYTES = 5 * 1024 * 1024;
export const DESKTOP_LOG_FILE = 'desktop.log';
