/**
 * Electron main process: hosts the worker core in-process (protocol §1) and wires the thin shells around
 * it — tray, windows, IPC, notifications, logging, start at login. All decisions live in pure modules
 * (main/desktop, main/ipc); this file only composes them with Electron.
 */
import { BrowserWindow, app, session, shell, type Session } from 'electron';
import { join } from 'node:path';
import { createWorkerHost } from '../core/worker';
import { createSandboxSwitch } from '../sandbox/desktop';
import { resolveStateRoot } from '../core/state/paths';
import type { Snapshot } from '../core/snapshot';
import type { Logger } from '../core/log';
import { createRouter, runCommand, type DesktopPorts } from '../ipc/router';
import type { Command } from '../ipc/contract';
import { buildTrayModel, type TrayPlatform } from '../desktop/tray-model';
import { CSP } from '../desktop/security';
import { initialWindow } from '../desktop/startup';
import { PREFERENCES_FILE, openPreferences } from '../desktop/preferences';
import { needsLogin } from '../display/status';
import { setupLogging } from './logging';
import { createWindowManager } from './windows';
import { broadcastSnapshot, pushThreadEntries, setupIpc } from './ipc-bridge';
import { createTray } from './tray';
import { createNotifier } from './notifier';
import { createAutostart } from './autostart';

/** Quit waits this long for the graceful stop (agents get SIGTERM, then SIGKILL, inside host.stop). */
const SHUTDOWN_TIMEOUT_MS = 30_000;
const APP_ID = 'io.blobhub.worker';

const platform: DesktopPorts['platform'] =
  process.platform === 'darwin' || process.platform === 'linux' || process.platform === 'win32'
    ? process.platform
    : 'other';
const trayPlatform: TrayPlatform = platform === 'other' ? 'linux' : platform;

/** Deny every permission, add the CSP header (the meta tag is what counts for file://), lock navigation. */
function harden(ses: Session): void {
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

async function boot(stateRoot: string, logger: Logger): Promise<void> {
  harden(session.defaultSession);
  app.on('web-contents-created', (_event, contents) => {
    // Belt and braces for any webContents, including ones we did not create ourselves.
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event) => event.preventDefault());
  });

  const realHost = createWorkerHost({ home: stateRoot, env: process.env, logger });
  // "Try a local sandbox": the router, tray and windows follow `sandbox.host`, which is the real host until the
  // user starts the sandbox. Its state lives in <state root>/sandbox and is removed when it stops.
  const sandbox = createSandboxSwitch({
    real: realHost,
    sandbox: {
      stateRoot: join(stateRoot, 'sandbox'),
      agentSimDir: join(__dirname, '..', 'agent-sim'),
      execPath: process.execPath,
    },
    logger,
  });
  const host = sandbox.host;
  const windows = createWindowManager({
    indexHtml: join(__dirname, '..', 'renderer', 'index.html'),
    preload: join(__dirname, 'preload.cjs'),
    logger,
  });
  const autostart = createAutostart();
  let startAtLogin = await autostart.get().catch(() => false);
  // The app's own preferences live with the real worker's state (not the sandbox's, which is thrown away).
  const preferences = await openPreferences(join(stateRoot, PREFERENCES_FILE));
  if (preferences.problem) {
    logger.warn('app.preferences_invalid', `${preferences.problem.message} (defaults used)`, {
      code: preferences.problem.code,
    });
  }

  const ports: DesktopPorts = {
    platform,
    version: app.getVersion(),
    async openPath(path) {
      const error = await shell.openPath(path);
      if (error) throw new Error(error);
    },
    getStartAtLogin: () => autostart.get(),
    async setStartAtLogin(enabled) {
      await autostart.set(enabled);
      startAtLogin = enabled;
      render(host.snapshot());
    },
    quit: () => app.quit(),
    openWindow: (request) => void windows.open(request),
    closeWindow: (id) => windows.close(id),
    getNotifyTurnFinished: () => preferences.value.notifyTurnFinished,
    async setNotifyTurnFinished(enabled) {
      await preferences.set({ notifyTurnFinished: enabled });
      render(host.snapshot());
    },
    pushThreadEntries: (windowId, push) => pushThreadEntries(windowId, push),
  };
  const router = createRouter({ host, ports, sandbox, logger: logger.child({ component: 'ipc' }) });
  const run = (command: Command): void => {
    void runCommand(router, command).then((result) => {
      if (!result.ok)
        logger.warn('tray.command_failed', `${command.channel}: ${result.error.message}`, { code: result.error.code });
    });
  };
  setupIpc(router, windows, logger);
  windows.onClosed((windowId) => router.windowClosed(windowId));

  const tray = createTray(join(__dirname, '..', 'renderer', 'assets', 'tray'), run);
  const notify = createNotifier(run, {
    preferences: () => preferences.value,
    // A window the user is looking at, showing a thread: nothing about that thread needs a notification.
    focusedThread: () => {
      const focused = BrowserWindow.getFocusedWindow();
      return focused ? router.watchedBy(focused.id) : null;
    },
  });
  let previous: Snapshot | null = null;
  function render(snapshot: Snapshot): void {
    tray.render(
      buildTrayModel(snapshot, {
        platform: trayPlatform,
        startAtLogin,
        notifyTurnFinished: preferences.value.notifyTurnFinished,
      }),
    );
  }
  host.onChange((snapshot) => {
    render(snapshot);
    notify(previous, snapshot);
    broadcastSnapshot(windows, snapshot);
    previous = snapshot;
  });
  render(host.snapshot());

  // GNOME without an AppIndicator extension shows no tray at all: launching again opens the window.
  app.on('second-instance', () => {
    windows.open(needsLogin(host.snapshot()) ? { view: 'login' } : { view: 'dashboard' });
  });

  let stopped = false;
  let stopping = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    if (stopping) return;
    stopping = true;
    logger.info('app.quit', 'Stopping the worker before exit');
    withTimeout(
      Promise.all([sandbox.leave(), realHost.stop()]).then(() => undefined),
      SHUTDOWN_TIMEOUT_MS,
    )
      .catch((e: unknown) => logger.error('app.stop_failed', e instanceof Error ? e.message : String(e)))
      .finally(() => {
        stopped = true;
        tray.destroy();
        app.quit();
      });
  });

  // A failed preflight does not exit the app: the snapshot carries the code and remediation.
  await host
    .start()
    .catch((e: unknown) => logger.error('app.start_failed', e instanceof Error ? e.message : String(e)));
  const first = initialWindow(host.snapshot(), { argv: process.argv });
  if (first) windows.open(first);
}

function main(): void {
  // Second launch: hand over to the running instance (it opens the dashboard) and leave.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  const stateRoot = resolveStateRoot(undefined, process.env);
  const logger = setupLogging(stateRoot);
  if (process.platform === 'win32') app.setAppUserModelId(APP_ID);
  // A tray app: closing the last window must not quit (the default would).
  app.on('window-all-closed', () => undefined);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => app.quit());
  app
    .whenReady()
    .then(() => {
      app.dock?.hide();
      return boot(stateRoot, logger);
    })
    .catch((e: unknown) => {
      logger.error('app.boot_failed', e instanceof Error ? e.message : String(e));
      app.exit(1);
    });
}

main();
