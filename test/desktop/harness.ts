/**
 * Renderer harness: the real renderer bundle (dist/renderer/index.html over file://) in real headless
 * Chromium, with `window.workerApi` built exactly like the preload builds it (same channel list, same
 * method names, from main/ipc/channels.ts) but carried by `page.exposeFunction` instead of Electron IPC,
 * into the REAL router over whatever WorkerHost the test gives (the real core in these tests). Only
 * Electron's transport and the OS ports (open a path, windows, login items) are stand-ins; they record.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkerHost } from '../../main/core/host';
import { IPC_CHANNELS, buildApiMethods, methodName } from '../../main/ipc/channels';
import { SnapshotSchema, type ThreadEntriesPush, type WindowRequest } from '../../main/ipc/contract';
import { createRouter, type DesktopPorts, type Router, type SandboxPort } from '../../main/ipc/router';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const INDEX_HTML = join(ROOT, 'dist/renderer/index.html');
/**
 * Where the views' screenshots go. `docs/screenshots/` (the README's images, tracked in git) only when asked
 * with `UPDATE_SCREENSHOTS=1`; otherwise `dist/screenshots/` (ignored), so `npm test` leaves the tree clean.
 */
export function screenshotsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : join(ROOT, 'dist/screenshots');
}
export const SCREENSHOTS = screenshotsDir();

export function launchBrowser(): Promise<Browser> {
  if (!existsSync(INDEX_HTML)) throw new Error('dist/renderer/index.html missing: run `npm run build` first');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    timeout: 30_000,
  });
}

export interface RecordingPorts extends DesktopPorts {
  opened: string[];
  windows: WindowRequest[];
  closed: number[];
  quits: number;
  startAtLogin: boolean;
  notifyTurnFinished: boolean;
  /** `thread:entries` pushes, by window id (the renderer session forwards window 1's to its page). */
  pushes: Array<{ windowId: number; push: ThreadEntriesPush }>;
  onPush: ((windowId: number, push: ThreadEntriesPush) => void) | null;
}

export function recordingPorts(): RecordingPorts {
  const ports: RecordingPorts = {
    platform: 'linux',
    version: '0.1.0',
    opened: [],
    windows: [],
    closed: [],
    quits: 0,
    startAtLogin: false,
    notifyTurnFinished: false,
    pushes: [],
    onPush: null,
    async openPath(path) {
      ports.opened.push(path);
    },
    async getStartAtLogin() {
      return ports.startAtLogin;
    },
    async setStartAtLogin(enabled) {
      ports.startAtLogin = enabled;
    },
    quit() {
      ports.quits += 1;
    },
    openWindow(request) {
      ports.windows.push(request);
    },
    closeWindow(id) {
      ports.closed.push(id);
    },
    getNotifyTurnFinished() {
      return ports.notifyTurnFinished;
    },
    async setNotifyTurnFinished(enabled) {
      ports.notifyTurnFinished = enabled;
    },
    pushThreadEntries(windowId, push) {
      ports.pushes.push({ windowId, push });
      if (ports.pushes.length > 2000) ports.pushes.splice(0, 1000); // a bounded record, tests look at the end
      ports.onPush?.(windowId, push);
    },
  };
  return ports;
}

/** The method names the preload exposes (plus the two push subscriptions), computed by the preload's own builder. */
export const PRELOAD_KEYS = [...Object.keys(buildApiMethods(async () => null)), 'onSnapshot', 'onThreadEntries'].sort();

type Invoke = (channel: string, payload: unknown) => Promise<unknown>;
/** The few browser globals the page callbacks touch (the node tsconfig has no DOM lib). */
export interface PageGlobals {
  workerApi?: Record<string, unknown>;
  __workerInvoke: Invoke;
  __reportProblem: (text: string) => void;
  __workerPush?: (snapshot: unknown) => void;
  __workerThreadPush?: (push: unknown) => void;
  __noReload?: boolean;
  document: {
    addEventListener(
      type: 'securitypolicyviolation',
      fn: (e: { violatedDirective: string; blockedURI: string }) => void,
    ): void;
    querySelector(selector: string): unknown;
  };
}

export interface RendererSession {
  page: Page;
  context: BrowserContext;
  router: Router;
  ports: RecordingPorts;
  /** Console errors/warnings, page errors and CSP violations seen so far. */
  problems: string[];
  goto(hash: string): Promise<void>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface SessionOptions {
  colorScheme?: 'light' | 'dark';
  viewport?: { width: number; height: number };
  /** The sandbox switch the app's router gets (absent: `sandbox:start` answers SANDBOX_NOT_AVAILABLE). */
  sandbox?: SandboxPort;
}

export async function openRenderer(
  browser: Browser,
  host: WorkerHost,
  options: SessionOptions = {},
): Promise<RendererSession> {
  const ports = recordingPorts();
  const router = createRouter({ host, ports, ...(options.sandbox ? { sandbox: options.sandbox } : {}) });
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1040, height: 720 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

  // The window id the "Electron" side would see for this page.
  await page.exposeFunction('__workerInvoke', (channel: string, payload: unknown) =>
    router.invoke(channel, payload, { kind: 'window', windowId: 1 }),
  );
  await page.exposeFunction('__reportProblem', (text: string) => problems.push(text));
  const pairs = IPC_CHANNELS.map((c) => [c, methodName(c)] as const);
  await page.addInitScript((methods: ReadonlyArray<readonly [string, string]>) => {
    const w = globalThis as unknown as PageGlobals;
    const invoke = w.__workerInvoke;
    const report = w.__reportProblem;
    w.document.addEventListener('securitypolicyviolation', (e) =>
      report(`csp: ${e.violatedDirective} blocked ${e.blockedURI}`),
    );
    const listeners = new Set<(s: unknown) => void>();
    const api: Record<string, unknown> = {};
    for (const [channel, name] of methods) api[name] = (input?: unknown) => invoke(channel, input);
    api.onSnapshot = (cb: (s: unknown) => void) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    };
    w.__workerPush = (s: unknown) => listeners.forEach((l) => l(s));
    const threadListeners = new Set<(p: unknown) => void>();
    api.onThreadEntries = (cb: (p: unknown) => void) => {
      threadListeners.add(cb);
      return () => threadListeners.delete(cb);
    };
    w.__workerThreadPush = (p: unknown) => threadListeners.forEach((l) => l(p));
    Object.defineProperty(w, 'workerApi', { value: Object.freeze(api), enumerable: true });
  }, pairs);

  // snapshot:changed, as ipc-bridge.ts sends it: contract-parsed, to every window.
  const unsubscribe = host.onChange((s) => {
    const safe = SnapshotSchema.parse(s);
    page.evaluate((snap) => (globalThis as unknown as PageGlobals).__workerPush?.(snap), safe).catch(() => undefined);
  });

  // thread:entries, as ipc-bridge.ts sends it: only to the window that subscribed (this page is window 1).
  ports.onPush = (windowId, push) => {
    if (windowId !== 1) return;
    page.evaluate((p) => (globalThis as unknown as PageGlobals).__workerThreadPush?.(p), push).catch(() => undefined);
  };

  const url = pathToFileURL(INDEX_HTML).href;
  return {
    page,
    context,
    router,
    ports,
    problems,
    async goto(hash) {
      await page.goto(`${url}${hash}`);
      await page.waitForFunction(
        () => !(globalThis as unknown as PageGlobals).document.querySelector('#app > p.muted'),
        undefined,
        { timeout: 10_000 },
      );
    },
    async screenshot(name) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: false });
      return path;
    },
    async close() {
      unsubscribe();
      ports.onPush = null;
      router.windowClosed(1);
      await context.close();
    },
  };
}
