/**
 * Proxies for the worker's own BlobHub traffic (main/core/api/proxy.ts): REST calls and the realtime WebSocket
 * through a real forward proxy on 127.0.0.1 (test/api/proxy-server.ts) in front of the emulator. Every client
 * gets its environment injected: nothing here sets a proxy variable on this test process.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startEmulator } from '../../main/emulator/index';
import { BlobHubClient, type BlobHubClientOptions } from '../../main/core/api/client';
import { RealtimeClient } from '../../main/core/api/realtime';
import { chooseProxy, type ProxyEnv } from '../../main/core/api/proxy';
import { ApiError } from '../../main/core/api/errors';
import { WorkerError, ERROR_CODES } from '../../main/core/errors';
import { createLogger, type LogRecord } from '../../main/core/log';
import type { SessionEvent } from '../../main/core/api/types';
import { waitFor } from '../support/process';
import { startTestProxy, viaName } from './proxy-server';

/** Needs URL-encoding in a proxy URL; its raw, encoded and decoded forms must never be shown. */
const PASSWORD = 'Pr0xy p@ss/w:rd';
const SECRET_FORMS = [
  PASSWORD,
  encodeURIComponent(PASSWORD),
  'Pr0xy',
  Buffer.from(`proxyuser:${PASSWORD}`).toString('base64'),
];

async function setup(
  t: TestContext,
  auth: { user: string; password: string } | undefined = { user: 'proxyuser', password: PASSWORD },
) {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const proxy = await startTestProxy(auth);
  t.after(() => proxy.close());
  const worker = emu.control.createUser({ name: 'W', email: 'w@example.test' });
  const human = emu.control.createUser({ name: 'H', email: 'h@example.test' });
  const ref = emu.control.createSession({ members: [worker.user_id, human.user_id] });
  const logs: LogRecord[] = [];
  const logger = createLogger({ sinks: [(r) => logs.push(r)], minLevel: 'debug' });
  // The emulator by a name only the proxy resolves (loopback targets are never proxied).
  const apiUrl = viaName(emu.apiUrl);
  const realtimeUrl = viaName(emu.realtimeUrl);
  const client = (env: ProxyEnv, opts: Partial<BlobHubClientOptions> = {}) => {
    const c = new BlobHubClient({ apiUrl, apiKey: worker.api_key, logger, backoffMaxMs: 200, env, ...opts });
    t.after(() => c.close());
    return c;
  };
  const realtime = (env: ProxyEnv, url = realtimeUrl) => {
    const events: SessionEvent[] = [];
    const rt = new RealtimeClient({
      url,
      apiKey: worker.api_key,
      ref,
      logger,
      backoffMaxMs: 200,
      env,
      onEvent: (e) => events.push(e),
    });
    t.after(() => rt.close());
    return { rt, events };
  };
  return { emu, apiUrl, realtimeUrl, proxy, worker, human, ref, logs, client, realtime };
}

const THREAD = { type: 'thread', thread: { attributes: { name: 'T' }, metadata: { instance: { state: 'pending' } } } };
const emuHostPort = (url: string): string => new URL(url).host;

function assertNoPassword(what: string, text: string): void {
  for (const s of SECRET_FORMS)
    assert.ok(!text.includes(s), `the proxy password (${JSON.stringify(s)}) leaked into ${what}: ${text}`);
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assertNoPassword('an error', `${e.message} ${JSON.stringify(e)} ${String(e)} ${e.stack ?? ''}`);
    return e;
  }
  assert.fail('expected a rejection');
}

test('HTTP_PROXY: REST calls are forwarded by the proxy with its credentials, and the realtime WebSocket tunnels through it', async (t) => {
  const s = await setup(t);
  const env = { HTTP_PROXY: s.proxy.url };
  const c = s.client(env);
  assert.equal(c.proxy?.display, s.proxy.origin);
  assert.equal(c.proxy?.variable, 'HTTP_PROXY');

  assert.equal((await c.getMe()).user_id, s.worker.user_id);
  await c.uploadSessionObject(s.ref, 'job', THREAD);
  assert.equal((await c.downloadSessionObject(s.ref, 'job'))?.alias, 'job');
  const api = new URL(s.apiUrl);
  assert.deepEqual(s.proxy.forwarded, [
    `GET ${api.href}/users/me`,
    `POST ${api.href}/revisions/${s.ref.revision_id}/data`,
    `POST ${api.href}/revisions/${s.ref.revision_id}/data`,
  ]);
  assert.ok(
    s.proxy.credentialsSeen.every((c) => c === `proxyuser:${PASSWORD}`),
    'the decoded credentials reach the proxy',
  );
  assert.equal(s.proxy.refusedAuth(), 0);

  const { rt, events } = s.realtime(env);
  assert.equal(rt.proxy?.display, s.proxy.origin);
  rt.start();
  await waitFor(() => rt.status === 'connected', 'realtime connected through the proxy');
  assert.deepEqual(s.proxy.tunnels, [emuHostPort(s.realtimeUrl)]);
  s.emu.control.postItem(s.human.user_id, s.ref, 'job', [{ type: 'text', text: 'through the tunnel' }]);
  await waitFor(() => events.some((e) => e.type === 'session_thread_item_posted'), 'an event through the tunnel');
  assertNoPassword('the log', JSON.stringify(s.logs));
});

test('lower-case http_proxy wins over HTTP_PROXY, and ALL_PROXY is the fallback', async (t) => {
  const s = await setup(t, undefined);
  const other = await startTestProxy();
  t.after(() => other.close());
  await s.client({ http_proxy: s.proxy.url, HTTP_PROXY: other.url }).getMe();
  await s.client({ ALL_PROXY: s.proxy.url }).getMe();
  assert.equal(s.proxy.forwarded.length, 2);
  assert.equal(other.forwarded.length, 0);
});

test('NO_PROXY naming the emulator, or a loopback target with no NO_PROXY at all: REST and realtime go direct', async (t) => {
  const s = await setup(t);
  // Loopback (the sandbox, `npm run emulator`) is never proxied, whatever the variables say.
  for (const env of [{ HTTP_PROXY: s.proxy.url }, { ALL_PROXY: s.proxy.url, NO_PROXY: '' }]) {
    const c = s.client(env, { apiUrl: s.emu.apiUrl });
    assert.equal(c.proxy, null);
    assert.equal((await c.getMe()).user_id, s.worker.user_id);
    const { rt } = s.realtime(env, s.emu.realtimeUrl);
    assert.equal(rt.proxy, null);
    rt.start();
    await waitFor(() => rt.status === 'connected', 'realtime connected directly');
    await rt.close();
  }
  assert.deepEqual(s.proxy.forwarded, []);
  assert.deepEqual(s.proxy.tunnels, []);
  // NO_PROXY naming the host decides before anything is sent (emulator.test only resolves through the proxy).
  assert.equal(s.client({ HTTP_PROXY: s.proxy.url, NO_PROXY: 'emulator.test' }).proxy, null);
  assert.equal(s.realtime({ HTTP_PROXY: s.proxy.url, no_proxy: '.test' }).rt.proxy, null);
});

test('NO_PROXY forms: host, .domain suffix, host:port, lists, `*`; only the matching target bypasses', () => {
  const P = 'http://proxy.corp:3128';
  const via = (target: string, noProxy: string): boolean =>
    chooseProxy(target, { HTTPS_PROXY: P, HTTP_PROXY: P, NO_PROXY: noProxy }) !== null;
  assert.equal(via('https://api.blobhub.io/v1', ''), true);
  assert.equal(via('https://api.blobhub.io/v1', 'api.blobhub.io'), false);
  assert.equal(via('https://api.blobhub.io/v1', '.blobhub.io'), false);
  assert.equal(via('wss://realtime.blobhub.io/v1', '.blobhub.io'), false);
  assert.equal(via('https://blobhub.io.evil.test/v1', '.blobhub.io'), true);
  assert.equal(via('https://api.blobhub.io/v1', 'api.blobhub.io:443'), false);
  assert.equal(via('https://api.blobhub.io:8443/v1', 'api.blobhub.io:443'), true);
  assert.equal(via('http://10.1.2.3:4000/v1', 'localhost, 10.1.2.3:4000,.corp'), false);
  assert.equal(via('http://10.1.2.3:4001/v1', 'localhost, 10.1.2.3:4000,.corp'), true);
  // Loopback goes direct without any NO_PROXY entry.
  for (const target of [
    'http://127.0.0.1:4000/v1',
    'ws://127.9.0.1/v1',
    'https://localhost/v1',
    'wss://api.localhost/v1',
    'http://[::1]:80/v1',
  ]) {
    assert.equal(via(target, ''), false, target);
  }
  assert.equal(via('http://127.0.0.1.example.test/v1', ''), true, 'a name that only starts like a loopback address');
  assert.equal(via('https://anything.test/v1', '*'), false);
  assert.equal(
    chooseProxy('https://api.blobhub.io/v1', { HTTPS_PROXY: P, no_proxy: 'api.blobhub.io' }),
    null,
    'no_proxy too',
  );
});

test('https and wss targets use HTTPS_PROXY (not HTTP_PROXY) and a CONNECT tunnel; ws/http use HTTP_PROXY', async (t) => {
  const s = await setup(t);
  const plain = await startTestProxy();
  t.after(() => plain.close());
  const env = { HTTPS_PROXY: s.proxy.url, HTTP_PROXY: plain.url };
  // A made-up https host: the proxy records the CONNECT and refuses it (it tunnels to 127.0.0.1 only).
  const c = s.client(env, { apiUrl: 'https://api.example.test/v1' });
  assert.equal(c.proxy?.variable, 'HTTPS_PROXY');
  const e = await rejection(c.getMe({ retry: 'none' }));
  assert.equal(e.status, 403);
  const { rt } = s.realtime(env, 'wss://realtime.example.test/v1');
  assert.equal(rt.proxy?.variable, 'HTTPS_PROXY');
  rt.start();
  await waitFor(() => s.proxy.tunnels.length >= 2, 'the wss CONNECT');
  await rt.close();
  assert.deepEqual(s.proxy.tunnels.slice(0, 2), ['api.example.test:443', 'realtime.example.test:443']);
  assert.ok(s.proxy.credentialsSeen.length >= 2 && s.proxy.credentialsSeen.every((x) => x === `proxyuser:${PASSWORD}`));
  assert.deepEqual(plain.forwarded, []);
  assert.deepEqual(plain.tunnels, []);
  assert.equal(chooseProxy('ws://h.test/v1', env)?.variable, 'HTTP_PROXY');
  // A value without a scheme is an http:// proxy (curl's reading), even for an https target.
  assert.equal(
    chooseProxy('https://h.test/v1', { HTTPS_PROXY: 'proxy.corp:3128' })?.url.href,
    'http://proxy.corp:3128/',
  );
});

test('the proxy password never appears in log records or errors: wrong credentials (407), a proxy that is down', async (t) => {
  const s = await setup(t);
  const wrong = s.proxy.url.replace(encodeURIComponent(PASSWORD), encodeURIComponent(`${PASSWORD}-wrong`));
  const c = s.client({ HTTP_PROXY: wrong });
  const e407 = await rejection(c.getMe());
  assert.equal(e407.status, 407);
  assert.match(e407.message, new RegExp(`the proxy ${s.proxy.origin} refused the credentials in HTTP_PROXY`));
  assert.ok(s.proxy.refusedAuth() >= 3, 'retried like any other 4xx');
  assert.ok(
    s.logs.some((l) => l.event === 'api_retry' && l.status === 407),
    'retries are logged',
  );

  const { rt } = s.realtime({ HTTP_PROXY: wrong });
  rt.start();
  await waitFor(() => s.logs.some((l) => l.event === 'realtime_rejected'), 'the realtime 407');
  await rt.close();
  const rejected = s.logs.find((l) => l.event === 'realtime_rejected')!;
  assert.match(rejected.msg, /HTTP 407 \(proxy authentication failed: check the credentials in HTTP_PROXY\)/);

  // A proxy that is not listening: the error says which proxy (without its credentials).
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as { port: number }).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const down = s.client({ HTTP_PROXY: `http://proxyuser:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}` });
  const eDown = await rejection(down.getMe({ retry: 'none' }));
  assert.equal(eDown.code, 'API_NETWORK_ERROR');
  assert.match(
    eDown.message,
    new RegExp(`ECONNREFUSED\\) talking to ${emuHostPort(s.apiUrl)} through the proxy http://127\\.0\\.0\\.1:${port}$`),
  );

  assert.ok(s.logs.length > 0);
  assertNoPassword('the log', JSON.stringify(s.logs));
});

test('a malformed proxy variable is PROXY_CONFIG_INVALID, naming the variable and never its password', async (t) => {
  const s = await setup(t, undefined);
  const cases: Array<[ProxyEnv, RegExp]> = [
    [
      { HTTP_PROXY: `http://proxyuser:${encodeURIComponent(PASSWORD)}@127.0.0.1:99999` },
      /^HTTP_PROXY is not a valid proxy URL/,
    ],
    [{ http_proxy: 'http://[::1' }, /^http_proxy is not a valid proxy URL/],
    [
      { ALL_PROXY: `socks5://proxyuser:${encodeURIComponent(PASSWORD)}@127.0.0.1:1080` },
      /^ALL_PROXY names a socks5:\/\/ proxy, which the worker does not support/,
    ],
  ];
  for (const [env, message] of cases) {
    for (const make of [() => s.client(env), () => s.realtime(env)]) {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof WorkerError, `WorkerError for ${JSON.stringify(Object.keys(env))}`);
      assert.equal(error.code, 'PROXY_CONFIG_INVALID');
      assert.match(error.message, message);
      assert.ok(!error.message.includes('\n'), 'one line, no stack');
      assertNoPassword('the message', `${error.message} ${JSON.stringify(error.toJSON())}`);
    }
  }
  // A password shorter than the redactor's minimum is not masked anywhere, so no message may carry it at all.
  assert.throws(
    () => chooseProxy('http://h.test/', { HTTP_PROXY: 'http://u:k7x@h.test:99999' }),
    (e: unknown) => e instanceof WorkerError && e.code === 'PROXY_CONFIG_INVALID' && !e.message.includes('k7x'),
  );
  assert.equal(ERROR_CODES.PROXY_CONFIG_INVALID.exitStatus, 21);
  // Only the variable that applies to the target counts: a broken HTTPS_PROXY does not stop http:// traffic.
  assert.equal(chooseProxy('http://api.example.test/v1', { HTTPS_PROXY: 'http://[::1', NO_PROXY: '' }), null);
  const c = s.client({ HTTPS_PROXY: 'http://[::1', HTTP_PROXY: s.proxy.url, NO_PROXY: '' });
  assert.equal(c.proxy?.variable, 'HTTP_PROXY');
  assert.equal((await c.getMe()).user_id, s.worker.user_id);
  assert.equal(
    chooseProxy('https://api.blobhub.io/v1', { HTTPS_PROXY: 'http://[::1', NO_PROXY: 'api.blobhub.io' }),
    null,
    'bypassed: unused',
  );
});
