/** Autostart file text, the security rules (CSP, sender check), start-up routing and the log adapter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeLog from 'electron-log/node';
import {
  HIDDEN_FLAG,
  autostartExec,
  linuxAutostartEntry,
  linuxAutostartPath,
  quoteExecArg,
} from '../../main/desktop/autostart';
import { CSP, isOwnPage, isTrustedSender, routeHash, windowKey } from '../../main/desktop/security';
import { initialWindow } from '../../main/desktop/startup';
import { DESKTOP_LOG_FILE, configureDesktopLog, electronLogSink, redactLogData } from '../../main/desktop/log-sink';
import { createLogger, registerSecret } from '../../main/core/log';
import { snap } from './fixtures';

const ROOT = new URL('../..', import.meta.url).pathname;

test('autostart: XDG path honours XDG_CONFIG_HOME, else ~/.config', () => {
  assert.equal(linuxAutostartPath({}, '/home/u'), '/home/u/.config/autostart/blobhub-worker.desktop');
  assert.equal(linuxAutostartPath({ XDG_CONFIG_HOME: '/cfg' }, '/home/u'), '/cfg/autostart/blobhub-worker.desktop');
  assert.equal(
    linuxAutostartPath({ XDG_CONFIG_HOME: 'relative' }, '/home/u'),
    '/home/u/.config/autostart/blobhub-worker.desktop',
  );
});

test('autostart: desktop entry text, with Exec quoting per the spec and the --hidden flag', () => {
  const text = linuxAutostartEntry({ exec: '/opt/BlobHub Worker/blobhub-worker' });
  assert.equal(
    text,
    [
      '[Desktop Entry]',
      'Type=Application',
      'Version=1.0',
      'Name=BlobHub Worker',
      'Comment=Runs coding agents for BlobHub sessions',
      `Exec="/opt/BlobHub Worker/blobhub-worker" ${HIDDEN_FLAG}`,
      'Terminal=false',
      'X-GNOME-Autostart-enabled=true',
      '',
    ].join('\n'),
  );
  assert.equal(quoteExecArg('/usr/bin/app'), '/usr/bin/app');
  assert.equal(quoteExecArg('/a/$HOME`x`"q"\\'), '"/a/\\$HOME\\`x\\`\\"q\\"\\\\"');
  assert.equal(quoteExecArg('100%'), '100%%');
  assert.ok(!linuxAutostartEntry({ exec: '/x', name: 'a\nExec=evil' }).includes('\nExec=evil'));
  assert.equal(
    autostartExec('/usr/lib/app/electron', { APPIMAGE: '/home/u/BlobHub.AppImage' }),
    '/home/u/BlobHub.AppImage',
  );
  assert.equal(autostartExec('/usr/lib/app/electron', {}), '/usr/lib/app/electron');
});

test('security: the CSP in index.html equals the one the session header sends; it forbids inline and eval', () => {
  const html = readFileSync(join(ROOT, 'renderer/index.html'), 'utf8');
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.equal(meta?.[1], CSP);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(CSP));
  assert.match(CSP, /script-src 'self'/);
  assert.ok(!/<script(?![^>]*\bsrc=)/.test(html), 'no inline script');
  assert.ok(!/\sstyle=/.test(html), 'no inline style');
});

test('security: only our own webContents, main frame, own index.html may call', () => {
  const index = 'file:///opt/app/resources/app.asar/dist/renderer/index.html';
  const ours = new Set([7]);
  const ok = { webContentsId: 7, isMainFrame: true, frameUrl: `${index}#dashboard` };
  assert.ok(isTrustedSender(ok, ours, index));
  assert.ok(!isTrustedSender({ ...ok, webContentsId: 8 }, ours, index));
  assert.ok(!isTrustedSender({ ...ok, isMainFrame: false }, ours, index));
  assert.ok(!isTrustedSender({ ...ok, frameUrl: 'file:///tmp/evil/index.html' }, ours, index));
  assert.ok(!isTrustedSender({ ...ok, frameUrl: 'https://evil.example/dist/renderer/index.html' }, ours, index));
  assert.ok(!isTrustedSender({ ...ok, frameUrl: `${index}?x=1` }, ours, index));
  assert.ok(!isOwnPage('not a url', index));
});

test('windows: hash routes and one window per route key', () => {
  assert.equal(routeHash({ view: 'dashboard' }), '#dashboard');
  assert.equal(routeHash({ view: 'prompt', promptId: 'pr_1/x' }), '#prompt/pr_1%2Fx');
  assert.equal(windowKey({ view: 'prompt', promptId: 'pr_1' }), 'prompt:pr_1');
  assert.equal(windowKey({ view: 'login' }), 'login');
});

test('startup: sign-in problems open the login window, other failures the dashboard, --hidden stays in the tray', () => {
  const err = (code: string) => ({ code, message: 'm', at: 'x' });
  for (const code of ['CREDENTIALS_NOT_FOUND', 'IDENTITY_NOT_FOUND', 'AUTH_INVALID', 'USER_IDENTITY_MISMATCH']) {
    assert.deepEqual(
      initialWindow(snap({ phase: 'preflight_failed', preflight_error: err(code) }), { argv: [HIDDEN_FLAG] }),
      { view: 'login' },
    );
  }
  assert.deepEqual(initialWindow(snap({ phase: 'signed_out' }), { argv: [] }), { view: 'login' });
  assert.deepEqual(
    initialWindow(snap({ phase: 'preflight_failed', preflight_error: err('INVALID_CONFIG') }), { argv: [HIDDEN_FLAG] }),
    { view: 'dashboard' },
  );
  assert.deepEqual(initialWindow(snap(), { argv: ['/app'] }), { view: 'dashboard' });
  assert.equal(initialWindow(snap(), { argv: ['/app', HIDDEN_FLAG] }), null);
});

test('logging: core records map to electron-log levels, and the hook redacts keys', () => {
  const lines: Array<[string, string]> = [];
  const writer = {
    debug: (l: unknown) => lines.push(['debug', String(l)]),
    info: (l: unknown) => lines.push(['info', String(l)]),
    warn: (l: unknown) => lines.push(['warn', String(l)]),
    error: (l: unknown) => lines.push(['error', String(l)]),
  };
  const key = 'bhk_desktop_secret_123456';
  registerSecret(key);
  const logger = createLogger({ sinks: [electronLogSink(writer)], minLevel: 'debug' });
  logger.debug('a', 'x');
  logger.info('b', 'y');
  logger.warn('c', `key ${key}`);
  logger.error('d', 'z', { apiKey: 'plain-value-123' });
  assert.deepEqual(
    lines.map(([l]) => l),
    ['debug', 'info', 'warn', 'error'],
  );
  assert.ok(lines.every(([, l]) => !l.includes(key) && !l.includes('plain-value-123')));
  assert.equal(JSON.parse(lines[2][1]).event, 'c');
  const hooked = redactLogData([`raw ${key}`, new Error(`boom ${key}`), { nested: key }, 42]);
  assert.ok(!JSON.stringify(hooked).includes(key));
  assert.equal(hooked[3], 42);
});

test('logging: desktop.log is 0600 in 0700 folders, redacted, and never sent to the windows (ipc transport off)', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'bhw-desktop-log-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  // A first start: the state root does not exist yet (electron-log alone would create it 0755, the file 0644).
  const stateRoot = join(tmp, 'home');
  const log = nodeLog.create({ logId: `desktop-log-test-${process.pid}` });
  const file = configureDesktopLog(log, stateRoot);
  assert.equal(file, join(stateRoot, 'logs', DESKTOP_LOG_FILE));
  const key = 'bhk_desktop_log_file_secret_99';
  log.warn(`login with ${key}`, { api_key: key });
  const mode = (p: string) => statSync(p).mode & 0o777;
  assert.equal(mode(stateRoot), 0o700);
  assert.equal(mode(join(stateRoot, 'logs')), 0o700);
  assert.equal(mode(file), 0o600);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /login with bhk_\[REDACTED\]/);
  assert.ok(!text.includes(key));

  // electron-log/main's IPC transport (on in an unpackaged app) would push every record to every window.
  const fake = {
    transports: {
      file: { resolvePathFn: () => '', maxSize: 0, level: 'info' as string | false },
      console: { level: 'info' as string | false },
      ipc: { level: 'silly' as string | false },
    },
    hooks: [] as Array<(m: { data: unknown[] }) => { data: unknown[] } | false>,
  };
  configureDesktopLog(fake, join(tmp, 'home2'));
  assert.equal(fake.transports.ipc.level, false);
  assert.equal(fake.transports.console.level, 'warn');
  const hooked = fake.hooks[0]({ data: [`x ${key}`] });
  assert.ok(hooked && !JSON.stringify(hooked.data).includes(key));
});

test('screenshots: npm test writes them under dist/ (ignored); docs/screenshots/ only with UPDATE_SCREENSHOTS=1', async () => {
  const { screenshotsDir } = await import('./harness');
  assert.equal(screenshotsDir({}), join(ROOT, 'dist/screenshots'));
  assert.equal(screenshotsDir({ UPDATE_SCREENSHOTS: '1' }), join(ROOT, 'docs/screenshots'));
});

test('tray icons: every state has a coloured and a macOS template icon, at 1x and 2x', async () => {
  const { ICON_STATES } = await import('../../main/display/status');
  for (const state of ICON_STATES) {
    for (const variant of ['', 'Template']) {
      for (const [suffix, size] of [
        ['', 16],
        ['@2x', 32],
      ] as const) {
        const png = readFileSync(join(ROOT, 'renderer/assets/tray', `${state}${variant}${suffix}.png`));
        assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
        assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [size, size], `${state}${variant}${suffix}`);
        assert.ok(png.length < 2048, 'small');
      }
    }
  }
  const icon = readFileSync(join(ROOT, 'build/icon.png'));
  assert.deepEqual([icon.readUInt32BE(16), icon.readUInt32BE(20)], [512, 512], 'electron-builder wants ≥ 512×512');
});
