/**
 * electron-log for the app: `<state root>/logs/desktop.log` (0600, rotated by size into desktop.log.1 … like every log: config.yaml `logs:`), every record
 * redacted by a hook (the API key can never reach a transport), no IPC transport to the windows, and the
 * core's Logger port on top of it. The settings themselves are in main/desktop/log-sink.ts (tested).
 */
import log from 'electron-log/main';
import { createLogger, type Logger } from '../core/log';
import { configureDesktopLog, desktopLogRotation, electronLogSink } from '../desktop/log-sink';

export function setupLogging(stateRoot: string): Logger {
  configureDesktopLog(log, stateRoot, {
    debugConsole: !!process.env.BLOBHUB_WORKER_DEBUG,
    rotation: desktopLogRotation(stateRoot),
  });
  // Uncaught errors are logged (redacted) instead of Electron's modal dialog.
  log.errorHandler.startCatching({ showDialog: false });
  return createLogger({ sinks: [electronLogSink(log.scope('worker'))], minLevel: 'debug' });
}
