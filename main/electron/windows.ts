/**
 * The app's windows: one renderer bundle, routed by hash (#dashboard, #thread/<section>/<alias>, #login,
 * #prompt/<id>), one window per route key, re-used when asked again (a thread view is shown in the dashboard
 * window, which is sent to that thread). Every window: context isolation, sandbox, no node integration,
 * web security on, shown only when ready, navigation and window.open denied. The set of webContents ids
 * we created feeds the IPC sender check.
 */
import { BrowserWindow, app } from 'electron';
import { pathToFileURL } from 'node:url';
import type { WindowRequest } from '../ipc/contract';
import { routeHash, windowKey } from '../desktop/security';
import type { Logger } from '../core/log';

const SIZES: Record<WindowRequest['view'], { width: number; height: number; resizable: boolean }> = {
  dashboard: { width: 1100, height: 760, resizable: true },
  login: { width: 460, height: 560, resizable: false },
  prompt: { width: 560, height: 620, resizable: true },
  thread: { width: 1100, height: 760, resizable: true },
};

export interface WindowManager {
  readonly indexUrl: string;
  readonly webContentsIds: ReadonlySet<number>;
  open(request: WindowRequest): BrowserWindow;
  close(windowId: number): void;
  all(): BrowserWindow[];
  /** Called with a window's id after it closed (its thread subscription ends). */
  onClosed(listener: (windowId: number) => void): void;
}

export function createWindowManager(opts: { indexHtml: string; preload: string; logger: Logger }): WindowManager {
  const indexUrl = pathToFileURL(opts.indexHtml).href;
  const byKey = new Map<string, BrowserWindow>();
  const ids = new Set<number>();
  const closedListeners: Array<(windowId: number) => void> = [];

  function create(request: WindowRequest): BrowserWindow {
    const size = SIZES[request.view];
    const win = new BrowserWindow({
      ...size,
      minWidth: 380,
      minHeight: 360,
      show: false,
      title: 'BlobHub Worker',
      autoHideMenuBar: true,
      webPreferences: {
        preload: opts.preload,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        spellcheck: false,
        devTools: !!process.env.BLOBHUB_WORKER_DEVTOOLS,
      },
    });
    const contents = win.webContents;
    const wcId = contents.id;
    ids.add(wcId);
    contents.setWindowOpenHandler(({ url }) => {
      opts.logger.warn('window.open_denied', `window.open denied: ${url.slice(0, 200)}`);
      return { action: 'deny' };
    });
    contents.on('will-navigate', (event, url) => {
      event.preventDefault();
      opts.logger.warn('window.navigation_denied', `navigation denied: ${url.slice(0, 200)}`);
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.on('console-message', (event) => {
      if (event.level === 'error' || event.level === 'warning') opts.logger.warn('renderer.console', event.message);
    });
    win.once('ready-to-show', () => {
      // With no dock icon (LSUIElement) macOS does not bring a new window forward by itself.
      if (process.platform === 'darwin') app.focus({ steal: true });
      win.show();
      win.focus();
    });
    const winId = win.id; // not readable any more once the window is destroyed
    win.on('closed', () => {
      ids.delete(wcId);
      for (const [key, w] of byKey) if (w === win) byKey.delete(key);
      for (const listener of closedListeners) listener(winId);
    });
    void win.loadURL(`${indexUrl}${routeHash(request)}`);
    return win;
  }

  return {
    indexUrl,
    webContentsIds: ids,
    open(request) {
      const key = windowKey(request);
      const existing = byKey.get(key);
      if (existing && !existing.isDestroyed()) {
        // A thread asked for (a notification click): the dashboard window goes to that thread's view. An
        // in-page hash change, so no navigation is involved (will-navigate stays denied).
        if (request.view === 'thread') void existing.loadURL(`${indexUrl}${routeHash(request)}`);
        if (existing.isMinimized()) existing.restore();
        existing.show();
        existing.focus();
        return existing;
      }
      const win = create(request);
      byKey.set(key, win);
      return win;
    },
    close(windowId) {
      BrowserWindow.fromId(windowId)?.close();
    },
    all: () => [...byKey.values()].filter((w) => !w.isDestroyed()),
    onClosed: (listener) => void closedListeners.push(listener),
  };
}
