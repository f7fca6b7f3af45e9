/**
 * electron-log for the app: `<state root>/logs/desktop.log`, rotated at LOG_MAX_BYTES, every record
 * redacted by a hook (the API key can never reach a transport), and the core's Logger port on top of it.
 */
import log from 'electron-log/main';
import { join } from 'node:path';
import { createLogger, type Logger } from '../core/log';
import { StatePaths } from '../core/state/paths';
import { DESKTOP_LOG_FILE, LOG_MAX_BYTES, electronLogSink, redactLogData } from '../desktop/log-sink';

export function setupLogging(stateRoot: string): Logger {
  const file = join(new StatePaths(stateRoot).logsDir, DESKTOP_LOG_FILE);
  log.transports.file.resolvePathFn = () => file;
  log.transports.file.maxSize = LOG_MAX_BYTES;
  log.transports.file.level = 'debug';
  log.transports.console.level = process.env.BLOBHUB_WORKER_DEBUG ? 'debug' : 'warn';
  log.hooks.push((message) => ({ ...message, data: redactLogData(message.data) }));
  // Uncaught errors are logged (redacted) instead of Electron's modal dialog.
  log.errorHandler.startCatching({ showDialog: false });
  return createLogger({ sinks: [electronLogSink(log.scope('worker'))], minLevel: 'debug' });
}
