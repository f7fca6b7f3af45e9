/**
 * Proxies end to end: the real, built CLI (`dist/cli.js`, `npm run build` first) with HTTP_PROXY in its
 * environment logs in, starts, attaches its section and subscribes to realtime, all through the test proxy
 * (test/api/proxy-server.ts) in front of the emulator. The environment is given to the child only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli, waitExit, waitFor } from '../support/process';
import { cliWorld, expectCode, sectionConfig, writeConfig } from '../cli/helpers';
import { proxyEnv, startTestProxy, viaName } from './proxy-server';

const PASSWORD = 'cli-Pr0xy-p@ss';

test('start through HTTP_PROXY: login, attach and the realtime feed all go through the proxy; its password is never printed', async (t) => {
  const w = await cliWorld(t);
  const proxy = await startTestProxy({ user: 'proxyuser', password: PASSWORD });
  t.after(() => proxy.close());
  const env = proxyEnv({ HTTP_PROXY: proxy.url });
  // The emulator by a name only the proxy resolves (loopback targets are never proxied).
  const apiUrl = viaName(w.emu.apiUrl);
  const realtimeUrl = viaName(w.emu.realtimeUrl);

  const login = await runCli(
    ['login', '--api-url', apiUrl, '--realtime-url', realtimeUrl, '--api-key-stdin', '--no-input'],
    {
      home: w.home,
      input: `${w.user.api_key}\n`,
      env,
    },
  );
  assert.equal(login.status, 0, login.stderr);
  assert.deepEqual(proxy.forwarded, [`GET ${apiUrl}/users/me`]);
  await writeConfig(w.home, sectionConfig([{ name: 'main', ...w.ref }]));

  const child = spawnCli(['start', '--json'], { home: w.home, env });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = waitExit(child);
  const live = await waitFor(
    async () => {
      const r = await runCli(['status', '--json'], { home: w.home, env });
      const v = JSON.parse(r.stdout || '{}');
      return v.source === 'live' && v.sections?.[0]?.attachment === 'attached' && v.sections[0].realtime === 'connected'
        ? v
        : null;
    },
    `attached with realtime connected; output so far: ${output}`,
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  assert.equal(live.sections[0].session_id, w.ref.session_id);
  assert.equal(w.emu.control.getObject(w.ref, 'worker')?.alias, 'worker', 'the attach wrote the worker object');
  assert.ok(
    proxy.forwarded.some((r) => r === `POST ${apiUrl}/revisions/${w.ref.revision_id}/data`),
    'commands forwarded',
  );
  assert.ok(proxy.tunnels.includes(new URL(realtimeUrl).host), 'the realtime WebSocket tunnelled');

  child.kill('SIGTERM');
  assert.equal((await exited).status, 0, output);
  // Every request the emulator saw came through the proxy: forwarded REST calls plus tunnelled WebSockets.
  assert.equal(w.emu.control.counters().requests, proxy.forwarded.length + proxy.tunnels.length);
  assert.equal(proxy.refusedAuth(), 0);
  const ok = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .find((l) => l.event === 'preflight_ok');
  assert.equal(ok?.api_proxy, proxy.origin, 'preflight_ok names the proxy, without credentials');
  assert.equal(ok?.realtime_proxy, proxy.origin);
  for (const text of [output, login.stdout, login.stderr]) {
    assert.ok(!text.includes(PASSWORD) && !text.includes(encodeURIComponent(PASSWORD)), `password printed: ${text}`);
  }
});

test('start with a malformed proxy variable: PROXY_CONFIG_INVALID (exit 21) before any request, lock removed, no password', async (t) => {
  const w = await cliWorld(t);
  const proxy = await startTestProxy();
  t.after(() => proxy.close());
  // Logged in through a working proxy (a loopback API URL would bypass any proxy variable).
  const login = await runCli(['login', '--api-url', viaName(w.emu.apiUrl), '--api-key-stdin', '--no-input'], {
    home: w.home,
    input: `${w.user.api_key}\n`,
    env: proxyEnv({ HTTP_PROXY: proxy.url }),
  });
  assert.equal(login.status, 0, login.stderr);
  await writeConfig(w.home, sectionConfig([{ name: 'main', ...w.ref }]));
  w.emu.control.resetCounters();

  const r = await runCli(['start'], {
    home: w.home,
    env: proxyEnv({ http_proxy: `http://proxyuser:${PASSWORD}@127.0.0.1:99999` }),
  });
  const line = expectCode(r, 'PROXY_CONFIG_INVALID', 21);
  assert.match(line.message, /^http_proxy is not a valid proxy URL/);
  assert.match(line.remediation, /NO_PROXY/);
  assert.ok(!r.stderr.includes(PASSWORD), r.stderr);
  assert.equal(existsSync(join(w.home, 'instance.yaml')), false, 'lock released');
  assert.equal(w.emu.control.counters().requests, 0, 'nothing was sent');
});
