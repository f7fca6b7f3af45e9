/**
 * BlobHubClient against the emulator over real loopback sockets (fault classes, retry, shape variants) and
 * against tiny hand-rolled servers for what the emulator does not vary (headers seen, error body variants,
 * unparseable 2xx bodies, hangs).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { startEmulator, type Emulator } from '../../main/emulator/index';
import { BlobHubClient, type BlobHubClientOptions } from '../../main/core/api/client';
import { ApiError } from '../../main/core/api/errors';
import { createLogger, type LogRecord } from '../../main/core/log';

interface World {
  emu: Emulator;
  key: string;
  userId: string;
  ref: { revision_id: string; session_id: string };
  client: (opts?: Partial<BlobHubClientOptions>) => BlobHubClient;
  logs: LogRecord[];
}

async function world(t: TestContext): Promise<World> {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const user = emu.control.createUser({ name: 'W', email: 'w@example.test' });
  const ref = emu.control.createSession({ members: [user.user_id] });
  const logs: LogRecord[] = [];
  const logger = createLogger({ sinks: [(r) => logs.push(r)], minLevel: 'debug' });
  const client = (opts: Partial<BlobHubClientOptions> = {}) => {
    const c = new BlobHubClient({ apiUrl: emu.apiUrl, apiKey: user.api_key, logger, backoffMaxMs: 2000, ...opts });
    t.after(() => c.close());
    return c;
  };
  return { emu, key: user.api_key, userId: user.user_id, ref, client, logs };
}

/** Runs `p`, expecting an ApiError; asserts the key is nowhere in it. */
async function apiError(w: World, p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    const dump = `${e.message} ${JSON.stringify(e)} ${String(e)} ${e.stack ?? ''} ${JSON.stringify(e.details)}`;
    assert.ok(!dump.includes(w.key), 'key leaked into an error');
    return e;
  }
  assert.fail('expected a rejection');
}

const THREAD = { type: 'thread', thread: { attributes: { name: 'T' }, metadata: { instance: { state: 'pending' } } } };

test('round trip: upload, download, list, post, list items, get item, delete; absent → null', async (t) => {
  const w = await world(t);
  const c = w.client();
  assert.equal((await c.getMe()).user_id, w.userId);
  await c.uploadSessionObject(w.ref, 'job', THREAD);
  const env = await c.downloadSessionObject(w.ref, 'job');
  assert.equal(env?.alias, 'job');
  assert.deepEqual(env?.value, THREAD);
  assert.deepEqual(await c.listSessionObjects(w.ref), ['job']);
  const item = await c.postThreadItem(w.ref, 'job', {
    content: [{ type: 'text', text: 'hi' }],
    metadata: { type: 'text' },
  });
  assert.equal(item.user_id, w.userId);
  const items = await c.listThreadItems(w.ref, 'job', { ascending: true });
  assert.deepEqual(
    items.map((i) => i.id),
    [item.id],
  );
  assert.equal((await c.getThreadItem(w.ref, 'job', item.id))?.id, item.id);
  assert.equal(await c.getThreadItem(w.ref, 'job', 'itm_missing'), null);
  await c.deleteSessionObject(w.ref, 'job');
  assert.equal(await c.downloadSessionObject(w.ref, 'job'), null);
  await c.deleteSessionObject(w.ref, 'job'); // already gone: fine
  const counts = w.emu.control.counters().byCommand;
  assert.equal(counts.download_session_object, 2, 'a 404 answer is not retried');
});

test('tolerant parsing: every response-shape variant of list, download and users/me', async (t) => {
  const w = await world(t);
  const c = w.client();
  await c.uploadSessionObject(w.ref, 'a', THREAD);
  await c.uploadSessionObject(w.ref, 'b', { type: 'message', text: 'x' });
  for (const list of ['aliases', 'objects', 'items'] as const) {
    w.emu.control.setShapes({ list });
    assert.deepEqual((await c.listSessionObjects(w.ref)).sort(), ['a', 'b'], list);
  }
  for (const download of ['both', 'wrapped', 'top'] as const) {
    w.emu.control.setShapes({ download });
    const env = await c.downloadSessionObject(w.ref, 'a');
    assert.deepEqual(env?.value, THREAD, download);
    assert.equal(env?.alias, 'a');
  }
  for (const usersMe of ['both', 'nested', 'flat_id'] as const) {
    w.emu.control.setShapes({ usersMe });
    assert.deepEqual(await c.getMe(), { user_id: w.userId, name: 'W', email: 'w@example.test' }, usersMe);
  }
});

test('5xx is API_TRANSIENT_ERROR (ambiguous), retried until success; the ribbon callback sees each', async (t) => {
  const w = await world(t);
  const seen: ApiError[] = [];
  const c = w.client({ onTransientError: (e) => seen.push(e) });
  w.emu.control.addFault({ command: 'list_session_objects', kind: 'status', status: 500, times: 2 });
  assert.deepEqual(await c.listSessionObjects(w.ref), []);
  assert.equal(w.emu.control.counters().byCommand.list_session_objects, 3);
  assert.deepEqual(
    seen.map((e) => [e.code, e.status, e.ambiguous]),
    [
      ['API_TRANSIENT_ERROR', 500, true],
      ['API_TRANSIENT_ERROR', 500, true],
    ],
  );
  const retryLogs = w.logs.filter((l) => l.event === 'api_retry');
  assert.equal(retryLogs.length, 2);
  assert.ok(retryLogs.every((l) => l.code === 'API_TRANSIENT_ERROR'));
  assert.ok(!JSON.stringify(w.logs).includes(w.key));
});

test('429 waits at least Retry-After (measured), then succeeds', async (t) => {
  const w = await world(t);
  const c = w.client();
  w.emu.control.addFault({ command: 'users/me', kind: 'rate_limit', retryAfterSec: 2, times: 1 });
  const started = Date.now();
  await c.getMe();
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1950, `waited ${elapsed} ms`);
  assert.ok(elapsed < 5000, `waited ${elapsed} ms`);
  w.emu.control.addFault({ command: 'users/me', kind: 'rate_limit', retryAfterSec: 1 });
  const e = await apiError(w, c.getMe({ retry: 'none' }));
  assert.deepEqual([e.code, e.status, e.retryAfterMs, e.ambiguous], ['API_RATE_LIMITED', 429, 1000, false]);
});

test('dropped connections are API_NETWORK_ERROR and ambiguous; drop_after really applied the write', async (t) => {
  const w = await world(t);
  const c = w.client();
  w.emu.control.addFault({ command: 'upload_session_object', kind: 'drop_before', times: 1 });
  let e = await apiError(w, c.uploadSessionObject(w.ref, 'x', THREAD, { retry: 'none' }));
  assert.deepEqual([e.code, e.ambiguous, e.status], ['API_NETWORK_ERROR', true, null]);
  assert.equal(w.emu.control.getObject(w.ref, 'x'), null);

  w.emu.control.addFault({ command: 'upload_session_object', kind: 'drop_after', times: 1 });
  e = await apiError(w, c.uploadSessionObject(w.ref, 'x', THREAD, { retry: 'none' }));
  assert.deepEqual([e.code, e.ambiguous], ['API_NETWORK_ERROR', true]);
  assert.ok(w.emu.control.getObject(w.ref, 'x'), 'applied even though the answer was lost');

  // With the default policy the same faults are retried through.
  w.emu.control.addFault({ command: 'list_session_objects', kind: 'drop_before', times: 1 });
  w.emu.control.addFault({ command: 'list_session_objects', kind: 'drop_after', times: 1 });
  assert.deepEqual(await c.listSessionObjects(w.ref), ['x']);
});

test('other 4xx: API_COMMAND_FAILED with the server code, 3 answers then surfaced; retry:none = 1 attempt', async (t) => {
  const w = await world(t);
  const c = w.client();
  const e = await apiError(w, c.postThreadItem(w.ref, 'no-such-thread', { content: [{ type: 'text', text: 'x' }] }));
  assert.deepEqual([e.code, e.serverCode, e.ambiguous], ['API_COMMAND_FAILED', 'invalid_thread_envelope', false]);
  assert.equal(e.status, 400);
  assert.equal(w.emu.control.counters().byCommand.post_session_thread_item, 3);

  w.emu.control.resetCounters();
  w.emu.control.addFault({ command: 'list_session_objects', kind: 'status', status: 503 });
  await apiError(w, c.listSessionObjects(w.ref, { retry: 'none' }));
  assert.equal(w.emu.control.counters().byCommand.list_session_objects, 1);
});

test('answers, not failures: 401/403 on users/me → AUTH_INVALID, 404 on list (unknown session), item too large — never retried', async (t) => {
  const w = await world(t);
  const c = w.client();
  for (const mode of [401, 403] as const) {
    w.emu.control.setAuth(w.userId, mode);
    w.emu.control.resetCounters();
    const e = await apiError(w, c.getMe());
    assert.deepEqual([e.code, e.status, e.exitStatus], ['AUTH_INVALID', mode, 14]);
    assert.equal(w.emu.control.counters().byCommand['users/me'], 1);
  }
  w.emu.control.setAuth(w.userId, 'ok');
  w.emu.control.resetCounters();
  const e404 = await apiError(w, c.listSessionObjects({ revision_id: w.ref.revision_id, session_id: 'ses_unknown' }));
  assert.equal(e404.status, 404);
  assert.equal(w.emu.control.counters().byCommand.list_session_objects, 1);

  await c.uploadSessionObject(w.ref, 't', THREAD);
  w.emu.control.setItemSizeCap(100);
  w.emu.control.resetCounters();
  const big = await apiError(w, c.postThreadItem(w.ref, 't', { content: [{ type: 'text', text: 'x'.repeat(500) }] }));
  assert.deepEqual([big.code, big.serverCode], ['API_COMMAND_FAILED', 'thread_item_too_large']);
  assert.equal(w.emu.control.counters().byCommand.post_session_thread_item, 1);
});

test('deadline, abort and the per-request timeout bound every call', async (t) => {
  const w = await world(t);
  const c = w.client({ requestTimeoutMs: 400 });
  w.emu.control.addFault({ command: 'list_session_objects', kind: 'status', status: 502 });
  let started = Date.now();
  await apiError(w, c.listSessionObjects(w.ref, { deadlineMs: 1200 }));
  assert.ok(Date.now() - started < 3000);
  w.emu.control.clearFaults();

  w.emu.control.addFault({ command: 'list_session_objects', kind: 'latency', latencyMs: 3000 });
  started = Date.now();
  const timeout = await apiError(w, c.listSessionObjects(w.ref, { retry: 'none' }));
  assert.deepEqual([timeout.code, timeout.ambiguous], ['API_NETWORK_ERROR', true]);
  assert.match(timeout.message, /timed out/);
  assert.ok(Date.now() - started < 2000);

  const slow = w.client();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  started = Date.now();
  const aborted = await apiError(w, slow.listSessionObjects(w.ref, { signal: ac.signal }));
  assert.ok(aborted.aborted);
  assert.ok(Date.now() - started < 2000);
});

test('connection refused: API_NETWORK_ERROR, not ambiguous (nothing was sent)', async (t) => {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const c = new BlobHubClient({ apiUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'bhk_refused_key_123' });
  t.after(() => c.close());
  const e = await c.getMe({ retry: 'none' }).then(
    () => null,
    (x: unknown) => x as ApiError,
  );
  assert.ok(e instanceof ApiError);
  assert.deepEqual([e.code, e.ambiguous, e.networkCode], ['API_NETWORK_ERROR', false, 'ECONNREFUSED']);
  assert.ok(!e.message.includes('bhk_refused_key_123'));
});

/** A one-route server answering whatever `handler` says; records requests. */
async function stub(t: TestContext, handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  );
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/v1`;
  return { url, seen };
}

test('wire: headers, route and command body exactly as documented', async (t) => {
  const s = await stub(t, (_req, _body, res) => res.end('{}'));
  const key = 'bhk_wire_test_key_000';
  const c = new BlobHubClient({ apiUrl: s.url + '/', apiKey: key });
  t.after(() => c.close());
  await c.uploadSessionObject({ revision_id: 'rev 1', session_id: 'ses_1' }, 'al', { type: 'x' });
  const r = s.seen[0];
  assert.equal(r.method, 'POST');
  assert.equal(r.url, '/v1/revisions/rev%201/data');
  assert.equal(r.headers['x-api-key'], key);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.headers['user-agent'], 'blobhub-worker/0.1.0');
  assert.deepEqual(JSON.parse(r.body), {
    engine: 'workflow_blobhub',
    command: 'upload_session_object',
    session_id: 'ses_1',
    alias: 'al',
    value: { type: 'x' },
  });
});

test('error bodies {error:{code,message}} | {code,message} | {detail}; unparseable 2xx → API_BAD_RESPONSE', async (t) => {
  const bodies = [
    JSON.stringify({ error: { code: 'bad_thing', message: 'first shape' } }),
    JSON.stringify({ code: 'bad_thing', message: 'second shape' }),
    JSON.stringify({ detail: 'third shape' }),
  ];
  let next = 0;
  const s = await stub(t, (req, _body, res) => {
    if (req.url?.endsWith('/users/me')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>not json</html>');
      return;
    }
    if (next < bodies.length) {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(bodies[next++]);
      return;
    }
    res.writeHead(200);
    res.end(JSON.stringify({ nothing: 'useful' }));
  });
  const c = new BlobHubClient({ apiUrl: s.url, apiKey: 'bhk_stub_key_0000' });
  t.after(() => c.close());
  const ref = { revision_id: 'r', session_id: 's' };
  const fail = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('expected failure'),
      (e: unknown) => e as ApiError,
    );
  for (const msg of ['first shape', 'second shape', 'third shape']) {
    const e = await fail(c.listSessionObjects(ref, { retry: 'none' }));
    assert.equal(e.code, 'API_COMMAND_FAILED');
    assert.equal(e.status, 422);
    assert.match(e.message, new RegExp(msg));
    if (msg !== 'third shape') assert.equal(e.serverCode, 'bad_thing');
  }
  const bad = await fail(c.listSessionObjects(ref, { retry: 'none' }));
  assert.equal(bad.code, 'API_BAD_RESPONSE');
  const notJson = await fail(c.getMe({ retry: 'none' }));
  assert.equal(notJson.code, 'API_BAD_RESPONSE');
});
