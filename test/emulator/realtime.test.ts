/** Realtime WebSocket: handshake auth, JSON-RPC lifecycle, pushes per event kind, access, unsubscribe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ALL_TYPES, cmd, connect, makeThread, sessionParams, subscribed, text, world } from './helpers';

test('handshake: no key, unknown key, flipped key are refused with HTTP status; header and subprotocol keys accepted', async (t) => {
  const w = await world(t);
  await assert.rejects(connect(t, w.emu.realtimeUrl, { none: true }), { status: 401 });
  await assert.rejects(connect(t, w.emu.realtimeUrl, { header: 'bhk_unknown_key_here' }), { status: 401 });
  await assert.rejects(connect(t, w.emu.realtimeUrl, { protocol: 'bhk_unknown_key_here' }), { status: 401 });
  w.emu.control.setAuth(w.human.user_id, 403);
  await assert.rejects(connect(t, w.emu.realtimeUrl, { header: w.human.api_key }), { status: 403 });
  await assert.rejects(connect(t, `${w.emu.realtimeUrl}/elsewhere`, { header: w.worker.api_key }), { status: 404 });

  const byHeader = await connect(t, w.emu.realtimeUrl, { header: w.worker.api_key });
  const byProtocol = await connect(t, w.emu.realtimeUrl, { protocol: w.worker.api_key });
  assert.equal(byProtocol.ws.protocol, 'x-api-key.base64', 'only the marker is echoed back, never the key');
  for (const c of [byHeader, byProtocol]) {
    const init = await c.request('status/initialize', { client_info: { name: 'test', version: '1' } });
    assert.deepEqual(init.result.server_info.name, 'BlobHub Realtime Server');
    assert.equal(typeof init.result.server_info.version, 'string');
  }
  assert.equal(w.emu.control.realtimeConnections(), 2);
});

test('standard base64 (with / and =) in the subprotocol is accepted over a raw handshake', async (t) => {
  const w = await world(t);
  // A key whose base64 has '/' and '=' — characters the ws client refuses to send but a browser-like client may.
  const key = 'bhk_??>>?key';
  const user = w.emu.control.createUser({ name: 'Raw', email: 'raw@example.test', apiKey: key });
  const encoded = Buffer.from(key).toString('base64');
  assert.match(encoded, /[/=]/);
  const url = new URL(w.emu.realtimeUrl);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: '/v1',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
        'Sec-WebSocket-Protocol': `x-api-key.base64, ${encoded}`,
      },
      timeout: 5_000,
    });
    req.on('upgrade', (res, socket) => {
      assert.equal(res.headers['sec-websocket-protocol'], 'x-api-key.base64');
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => resolve(res.statusCode ?? 0));
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 101);
  assert.ok(w.emu.control.counters().byUser[user.user_id]);
});

test('JSON-RPC rules: initialize first, 405 unknown method, 400 bad params / bad JSON / missing jsonrpc, 403 without access', async (t) => {
  const w = await world(t);
  const c = await connect(t, w.emu.realtimeUrl, { header: w.outsider.api_key });
  const early = await c.request('subscription/add', sessionParams(w.ref, ALL_TYPES));
  assert.equal(early.error?.code, 400);
  assert.match(early.error.message, /initialize/);
  await c.request('status/initialize');
  assert.equal((await c.request('no/such')).error?.code, 405);
  assert.equal(
    (await c.request('subscription/add', { ...sessionParams(w.ref, ALL_TYPES), scope: 'org' })).error?.code,
    400,
  );
  assert.equal(
    (
      await c.request('subscription/add', {
        scope: 'revision',
        scope_id: w.ref.revision_id,
        target: 'session',
        target_id: w.ref.session_id,
      })
    ).error?.code,
    400,
  );
  const forbidden = await c.request('subscription/add', sessionParams(w.ref, ALL_TYPES));
  assert.deepEqual(forbidden.error, { code: 403, message: 'Access forbidden' });
  const unknownSession = await c.request('subscription/add', {
    ...sessionParams(w.ref, ALL_TYPES),
    target_id: 'ses_nope',
  });
  assert.equal(unknownSession.error?.code, 403);

  c.ws.send('{oops');
  const parseError = await c.next((m) => m.id === null && m.error);
  assert.equal(parseError.error.code, 400);
  c.ws.send(JSON.stringify({ id: 99, method: 'status/initialize' }));
  assert.equal((await c.next((m) => m.id === 99)).error.code, 400);
  for (const m of c.received) assert.equal(m.jsonrpc, '2.0');
});

test('pushes subscription/event after upload, post and delete, with the scope fields and the event', async (t) => {
  const w = await world(t);
  const c = await subscribed(t, w, w.worker.api_key);
  const isEvent = (type: string) => (m: any) => m.method === 'subscription/event' && m.params.type === type;

  await makeThread(w, w.human.api_key, 'job');
  const modified = await c.next(isEvent('session_object_modified'));
  assert.equal(modified.jsonrpc, '2.0');
  assert.equal(modified.id, undefined, 'a notification has no id');
  assert.deepEqual(
    {
      scope: modified.params.scope,
      scope_id: modified.params.scope_id,
      target: modified.params.target,
      target_id: modified.params.target_id,
    },
    { scope: 'revision', scope_id: w.ref.revision_id, target: 'session', target_id: w.ref.session_id },
  );
  assert.equal(modified.params.event.type, 'session_object_modified');
  assert.deepEqual(modified.params.event.session_object, { alias: 'job' });
  assert.equal(typeof modified.params.event.created_at, 'number');

  const item = (await cmd(w, w.human.api_key, 'post_session_thread_item', { alias: 'job', content: text('hi') })).body
    .item;
  const posted = await c.next(isEvent('session_thread_item_posted'));
  assert.equal(posted.params.event.alias, 'job');
  assert.equal(posted.params.event.item_id, item.id);

  // Control mutations push too.
  w.emu.control.postItem(w.human.user_id, w.ref, 'job', [{ type: 'text', text: 'via control' }]);
  await c.next((m) => isEvent('session_thread_item_posted')(m) && m.params.event.item_id !== item.id);

  await cmd(w, w.human.api_key, 'delete_session_object', { alias: 'job' });
  const deleted = await c.next(isEvent('session_object_deleted'));
  assert.deepEqual(deleted.params.event.session_object, { alias: 'job' });
  assert.deepEqual(deleted.params.event, w.emu.control.events(w.ref).at(-1));
});

test('only subscribed types are pushed; unsubscribe stops pushes; revoked access stops pushes', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  const onlyPosts = await connect(t, w.emu.realtimeUrl, { header: w.worker.api_key });
  await onlyPosts.request('status/initialize');
  await onlyPosts.request('subscription/add', sessionParams(w.ref, ['session_thread_item_posted']));
  const human = await subscribed(t, w, w.human.api_key);

  await cmd(w, w.human.api_key, 'upload_session_object', { alias: 'note', value: { type: 'message' } });
  await cmd(w, w.human.api_key, 'post_session_thread_item', { alias: 'job', content: text('1') });
  await onlyPosts.next((m) => m.params?.type === 'session_thread_item_posted');
  await human.next((m) => m.params?.type === 'session_thread_item_posted');
  assert.ok(!onlyPosts.received.some((m) => m.params?.type === 'session_object_modified'));

  const removed = await onlyPosts.request('subscription/remove', sessionParams(w.ref, ['session_thread_item_posted']));
  assert.deepEqual(removed.result, {});
  w.emu.control.revokeAccess(w.ref, w.human.user_id);
  await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text('2') });
  // A third, still-subscribed client proves the event was emitted before we check the silence of the others.
  const witness = await subscribed(t, w, w.worker.api_key);
  await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text('3') });
  await witness.next((m) => m.params?.type === 'session_thread_item_posted');
  assert.equal(onlyPosts.received.filter((m) => m.method === 'subscription/event').length, 1);
  assert.equal(human.received.filter((m) => m.params?.type === 'session_thread_item_posted').length, 1);
});

test('the server answers WebSocket pings', async (t) => {
  const w = await world(t);
  const c = await connect(t, w.emu.realtimeUrl, { header: w.worker.api_key });
  const pong = new Promise<Buffer>((resolve) => c.ws.once('pong', resolve));
  c.ws.ping(Buffer.from('hello'));
  const data = await Promise.race([
    pong,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no pong')), 3_000)),
  ]);
  assert.equal(data.toString(), 'hello');
});

test('control: drop all realtime connections, refuse new ones, then accept again', async (t) => {
  const w = await world(t);
  const c = await connect(t, w.emu.realtimeUrl, { header: w.worker.api_key });
  const closed = new Promise<number>((resolve) => c.ws.once('close', resolve));
  assert.equal(w.emu.control.dropRealtime(), 1);
  assert.equal(await closed, 1006, 'abrupt close, no close frame');
  w.emu.control.refuseRealtime(true);
  await assert.rejects(connect(t, w.emu.realtimeUrl, { header: w.worker.api_key }), { status: 503 });
  w.emu.control.refuseRealtime(false);
  const again = await connect(t, w.emu.realtimeUrl, { header: w.worker.api_key });
  assert.ok((await again.request('status/initialize')).result);
});
