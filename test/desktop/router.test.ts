/** The IPC router over the REAL core (createWorkerHost on a temp home, the emulator for logins). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../../main/emulator/index';
import { createWorkerHost } from '../../main/core/worker';
import { IPC_CHANNELS } from '../../main/ipc/channels';
import { contract } from '../../main/ipc/contract';
import { createRouter } from '../../main/ipc/router';
import { tempDir, waitFor } from '../support/process';
import { recordingPorts } from './harness';

const win = { kind: 'window', windowId: 3 } as const;

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const tmp = await tempDir('bhw-router-');
  const emu = await startEmulator();
  const host = createWorkerHost({ home: join(tmp.path, 'home'), env: { ...process.env }, writeSnapshotFile: false });
  const ports = recordingPorts();
  const router = createRouter({ host, ports });
  t.after(async () => {
    await host.stop().catch(() => undefined);
    await emu.close();
    await tmp.cleanup();
  });
  return { tmp, emu, host, ports, router };
}

test('router: contract and channel list are the same set', () => {
  assert.deepEqual(Object.keys(contract).sort(), [...IPC_CHANNELS].sort());
});

test('router: malformed input → IPC_INVALID_INPUT naming the field; unknown channel → IPC_UNKNOWN_CHANNEL', async (t) => {
  const { router } = await setup(t);
  const cases: Array<[string, unknown, RegExp]> = [
    ['auth:login', { apiUrl: 'https://x.test/v1' }, /apiKey/],
    ['auth:login', { apiUrl: 'ftp://x.test', apiKey: 'k' }, /apiUrl/],
    ['auth:login', { apiUrl: 'https://x.test/v1', apiKey: 'k', admin: true }, /admin|Unrecognized/i],
    ['thread:reset', { sectionId: 's' }, /alias/],
    ['thread:reset', { sectionId: '', alias: 'a' }, /sectionId: sectionId must not be empty/],
    ['prompt:answer', { promptId: 'pr_1', answer: { kind: 'approval', decision: 'maybe' } }, /answer\.decision/],
    [
      'prompt:answer',
      { promptId: 'pr_1', answer: { kind: 'ask_user_question', answers: { q: 7 } } },
      /answer\.answers\.q/,
    ],
    [
      'prompt:answer',
      { promptId: 'pr_1', answer: { kind: 'text', text: ' \n ' } },
      /answer\.text: text must not be empty/,
    ],
    ['handoff:update', { sectionId: 's', alias: 'a', patch: {} }, /patch: patch must change at least one field/],
    ['handoff:update', { sectionId: 's', alias: 'a', patch: { state: 'exploded' } }, /patch\.state/],
    ['window:open', { view: 'settings' }, /view/],
    ['app:setStartAtLogin', { enabled: 'yes' }, /enabled: enabled must be a boolean/],
    ['snapshot:get', { extra: 1 }, /\(input\)/],
  ];
  for (const [channel, payload, field] of cases) {
    const r = await router.invoke(channel, payload, win);
    assert.equal(r.ok, false, `${channel} ${JSON.stringify(payload)} must be rejected`);
    if (r.ok) continue;
    assert.equal(r.error.code, 'IPC_INVALID_INPUT');
    assert.match(r.error.message, new RegExp(`^${channel}: `));
    assert.match(r.error.message, field, `${channel}: message names the field (${r.error.message})`);
    assert.ok(r.error.remediation);
  }
  for (const channel of ['shell:exec', 'snapshot', '', 42, null]) {
    const r = await router.invoke(channel, undefined, win);
    assert.deepEqual(r.ok ? null : r.error.code, 'IPC_UNKNOWN_CHANNEL');
  }
  // A well-formed request passes validation and reaches the core.
  const ok = await router.invoke('snapshot:get', undefined, win);
  assert.equal(ok.ok, true);
});

test('router: login through the real core never returns (or logs) the key; failures are envelopes', async (t) => {
  const { emu, host, router } = await setup(t);
  const user = emu.control.createUser({ name: 'Robo', email: 'robo@example.test' });
  const bad = await router.invoke('auth:login', { apiUrl: emu.apiUrl, apiKey: 'bhk_wrong_key_000000' }, win);
  assert.deepEqual(bad.ok && bad.data, {
    ok: false,
    code: 'AUTH_INVALID',
    message: (bad.ok && (bad.data as { message?: string }).message) || '',
  });

  const good = await router.invoke('auth:login', { apiUrl: emu.apiUrl, apiKey: user.api_key }, win);
  assert.ok(good.ok);
  assert.deepEqual(good.data, {
    ok: true,
    identity: { user_id: user.user_id, name: 'Robo', email: 'robo@example.test' },
    identityChanged: false,
  });
  // Every channel's answer (and the snapshot) is free of the key.
  // The app restarts the worker under the new credentials (a fresh home has no sections yet: INVALID_CONFIG).
  await waitFor(
    () => host.snapshot().phase === 'preflight_failed' || host.snapshot().phase === 'running',
    'worker restarted after login',
  );
  assert.notEqual(host.snapshot().preflight_error?.code, 'CREDENTIALS_NOT_FOUND');
  for (const channel of ['snapshot:get', 'app:getSettings'] as const) {
    const r = await router.invoke(channel, undefined, win);
    assert.ok(!JSON.stringify(r).includes(user.api_key), `${channel} leaks the key`);
  }
  assert.ok(!JSON.stringify(good).includes(user.api_key));
  assert.ok(
    readFileSync(join(host.stateRoot, 'credentials.yaml'), 'utf8').includes(user.api_key),
    'the key went to credentials.yaml only',
  );
});

test('router: OS actions go through the ports; paths come from the core, not the window', async (t) => {
  const { host, ports, router } = await setup(t);
  assert.deepEqual(await router.invoke('logs:open', undefined, win), { ok: true, data: null });
  assert.deepEqual(ports.opened, [join(host.stateRoot, 'logs')]);
  assert.deepEqual(await router.invoke('config:open', undefined, win), { ok: true, data: null });
  assert.ok(existsSync(join(host.stateRoot, 'config.yaml')), 'a starter config.yaml is written for a new user');
  const settings = await router.invoke('app:setStartAtLogin', { enabled: true }, win);
  assert.deepEqual(settings, {
    ok: true,
    data: { platform: 'linux', startAtLogin: true, version: '0.1.0', notifyTurnFinished: false },
  });
  // The "turn finished" notice: off by default, switched through the port the app keeps in desktop.yaml.
  const turnNotices = await router.invoke('app:setNotifyTurnFinished', { enabled: true }, win);
  assert.deepEqual(turnNotices, {
    ok: true,
    data: { platform: 'linux', startAtLogin: true, version: '0.1.0', notifyTurnFinished: true },
  });
  assert.equal(ports.notifyTurnFinished, true);
  assert.equal((await router.invoke('app:setNotifyTurnFinished', { enabled: 'yes' }, win)).ok, false);
  assert.deepEqual(await router.invoke('window:open', { view: 'prompt', promptId: 'pr_1' }, win), {
    ok: true,
    data: null,
  });
  assert.deepEqual(ports.windows, [{ view: 'prompt', promptId: 'pr_1' }]);
  await router.invoke('window:close', undefined, win);
  await router.invoke('window:close', undefined, { kind: 'main' });
  assert.deepEqual(ports.closed, [3]);
  await router.invoke('app:quit', undefined, win);
  assert.equal(ports.quits, 1);
  const missing = await router.invoke('thread:openLog', { sectionId: 'nope', alias: 'x' }, win);
  assert.deepEqual(missing.ok ? null : missing.error.code, 'NOT_FOUND');
  const sandbox = await router.invoke('sandbox:start', undefined, win);
  assert.deepEqual(sandbox.ok ? null : sandbox.error.code, 'SANDBOX_NOT_AVAILABLE');
  // Host refusals arrive as coded envelopes (nothing running yet).
  const reset = await router.invoke('thread:reset', { sectionId: 's', alias: 'a' }, win);
  assert.equal(reset.ok, false);
  assert.equal(reset.ok ? null : reset.error.code, 'NOT_FOUND');
  ports.openPath = async () => {
    throw new Error('no handler');
  };
  const failed = await router.invoke('logs:open', undefined, win);
  assert.equal(failed.ok ? null : failed.error.code, 'OPEN_FAILED');
});

test('router: thread channels — bad pages refused by field, unknown threads NOT_FOUND, one subscription per window', async (t) => {
  const { router } = await setup(t);
  const ref = { sectionId: 'session_agent_harness-ses_x', alias: 'nope' };
  for (const [input, field] of [
    [{ ...ref, limit: 0 }, /limit/],
    [{ ...ref, limit: 501 }, /limit/],
    [{ ...ref, before: -1 }, /before/],
    [{ ...ref, before: 'x' }, /before/],
    [{ sectionId: '', alias: 'a' }, /sectionId/],
  ] as const) {
    const r = await router.invoke('thread:transcript', input, win);
    assert.ok(!r.ok && r.error.code === 'IPC_INVALID_INPUT' && field.test(r.error.message), JSON.stringify(r));
  }
  const missing = await router.invoke('thread:transcript', ref, win);
  assert.ok(!missing.ok && missing.error.code === 'NOT_FOUND');
  // A failed subscribe leaves the window unsubscribed.
  const sub = await router.invoke('thread:subscribe', ref, win);
  assert.ok(!sub.ok && sub.error.code === 'NOT_FOUND');
  assert.equal(router.watchedBy(win.windowId), null);
  assert.deepEqual(await router.invoke('thread:unsubscribe', undefined, win), { ok: true, data: null });
});
