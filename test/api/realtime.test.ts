/** RealtimeClient against the emulator's WebSocket feed (and a pong-less server for the keepalive). */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { startEmulator } from '../../main/emulator/index';
import { RealtimeClient, resolveRealtimeUrl, type RealtimeStatus } from '../../main/core/api/realtime';
import { SessionEvent } from '../../main/core/api/types';
import { waitFor } from '../support/process';

async function setup(t: TestContext) {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const worker = emu.control.createUser({ name: 'W', email: 'w@example.test' });
  const human = emu.control.createUser({ name: 'H', email: 'h@example.test' });
  const ref = emu.control.createSession({ members: [worker.user_id, human.user_id] });
  const events: SessionEvent[] = [];
  const statuses: RealtimeStatus[] = [];
  let connectedCalls = 0;
  const rt = new RealtimeClient({
    url: emu.realtimeUrl,
    apiKey: worker.api_key,
    ref,
    backoffMaxMs: 400,
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    onConnected: () => {
      connectedCalls += 1;
    },
  });
  t.after(() => rt.close());
  return { emu, worker, human, ref, rt, events, statuses, connected: () => connectedCalls };
}

const THREAD = { type: 'thread', thread: { metadata: {} } };

test('connects with X-API-Key, subscribes to the session and delivers its events', async (t) => {
  const s = await setup(t);
  s.rt.start();
  await waitFor(() => s.rt.status === 'connected', 'connected');
  assert.equal(s.connected(), 1);
  assert.deepEqual(s.statuses, ['connecting', 'connected']);

  s.emu.control.uploadObject(s.human.user_id, s.ref, 'job', THREAD);
  const item = s.emu.control.postItem(s.human.user_id, s.ref, 'job', [{ type: 'text', text: 'hi' }]);
  s.emu.control.deleteObject(s.ref, 'job');
  await waitFor(() => s.events.length >= 3, 'three events');
  assert.deepEqual(
    s.events.map((e) => e.type),
    ['session_object_modified', 'session_thread_item_posted', 'session_object_deleted'],
  );
  assert.equal(s.events[0].session_object?.alias, 'job');
  assert.equal(s.events[1].alias, 'job');
  assert.equal(s.events[1].item_id, item.id);
  assert.ok(s.events.every((e) => e.session_id === s.ref.session_id));

  // Another session's events are not ours.
  const other = s.emu.control.createSession({ members: [s.human.user_id, s.worker.user_id] });
  s.emu.control.uploadObject(s.human.user_id, other, 'elsewhere', THREAD);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(s.events.length, 3);
});

test('reconnects after the server drops every connection, with onConnected again (full reconcile hook)', async (t) => {
  const s = await setup(t);
  s.rt.start();
  await waitFor(() => s.rt.status === 'connected', 'connected');
  for (let round = 2; round <= 3; round++) {
    assert.equal(s.emu.control.dropRealtime(), 1);
    await waitFor(() => s.connected() === round && s.rt.status === 'connected', `reconnect ${round}`, {
      timeoutMs: 5000,
    });
  }
  assert.ok(s.statuses.filter((x) => x === 'connecting').length >= 3);
  s.emu.control.uploadObject(s.human.user_id, s.ref, 'after', THREAD);
  await waitFor(() => s.events.some((e) => e.session_object?.alias === 'after'), 'event after reconnect');
});

test('keeps retrying while the server refuses handshakes, then recovers; close() turns it off', async (t) => {
  const s = await setup(t);
  s.emu.control.refuseRealtime(true);
  s.rt.start();
  await waitFor(() => (s.emu.control.counters().byCommand.realtime ?? 0) >= 3, 'several refused attempts', {
    timeoutMs: 8000,
  });
  assert.equal(s.rt.status, 'connecting');
  assert.equal(s.connected(), 0);
  s.emu.control.refuseRealtime(false);
  await waitFor(() => s.rt.status === 'connected', 'connected after refusal', { timeoutMs: 5000 });
  await s.rt.close();
  assert.equal(s.rt.status, 'off');
  await waitFor(() => s.emu.control.realtimeConnections() === 0, 'server sees the close');
});

test('no pong → the connection is terminated and re-established', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  );
  let connections = 0;
  const keys: unknown[] = [];
  wss.on('connection', (ws, req) => {
    connections += 1;
    keys.push(req.headers['x-api-key']);
    ws.on('message', (data) => {
      const msg = JSON.parse((data as Buffer).toString());
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: {} }));
    });
  });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  let connected = 0;
  const rt = new RealtimeClient({
    url: `ws://127.0.0.1:${port}`,
    apiKey: 'bhk_pong_test_key',
    ref: { revision_id: 'r', session_id: 's' },
    pingIntervalMs: 150,
    backoffMaxMs: 200,
    onEvent: () => undefined,
    onConnected: () => void (connected += 1),
  });
  t.after(() => rt.close());
  rt.start();
  await waitFor(() => connections >= 2 && connected >= 2, 'reconnect after a missing pong', { timeoutMs: 5000 });
  assert.equal(keys[0], 'bhk_pong_test_key');
});

test('keep-alive: lastKeepAliveAt is the last answered ping of the live connection, null before the first pong and after a drop', async (t) => {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const worker = emu.control.createUser({ name: 'W', email: 'w@example.test' });
  const ref = emu.control.createSession({ members: [worker.user_id] });
  let connected = 0;
  const rt = new RealtimeClient({
    url: emu.realtimeUrl,
    apiKey: worker.api_key,
    ref,
    pingIntervalMs: 100,
    backoffMaxMs: 200,
    onEvent: () => undefined,
    onConnected: () => void (connected += 1),
  });
  t.after(() => rt.close());
  assert.equal(rt.lastKeepAliveAt, null);
  rt.start();
  await waitFor(() => rt.status === 'connected', 'connected');
  const first = await waitFor(() => rt.lastKeepAliveAt, 'a pong');
  const later = await waitFor(() => ((rt.lastKeepAliveAt ?? 0) > first ? rt.lastKeepAliveAt : null), 'a later pong');
  assert.ok(later > first);
  emu.control.dropRealtime();
  await waitFor(() => rt.status !== 'connected', 'dropped');
  assert.equal(rt.lastKeepAliveAt, null, 'a dropped link has no keep-alive');
  await waitFor(() => connected === 2 && rt.status === 'connected', 'reconnected');
  await waitFor(() => rt.lastKeepAliveAt !== null && rt.lastKeepAliveAt > later, 'a pong on the new connection');
  await rt.close();
  assert.equal(rt.lastKeepAliveAt, null);
});

test('realtime URL: configured value, else the public default only for the public API', () => {
  assert.equal(resolveRealtimeUrl({ url: 'https://api.blobhub.io/v1' }), 'wss://realtime.blobhub.io/v1');
  assert.equal(resolveRealtimeUrl({ url: 'https://api.blobhub.io/v1/' }), 'wss://realtime.blobhub.io/v1');
  assert.equal(resolveRealtimeUrl({ url: 'http://127.0.0.1:9/v1' }), null);
  assert.equal(
    resolveRealtimeUrl({ url: 'http://127.0.0.1:9/v1', realtime_url: 'ws://127.0.0.1:9/v1' }),
    'ws://127.0.0.1:9/v1',
  );
});

test('session events are read tolerantly: an odd optional field never drops the event', () => {
  const odd = SessionEvent.safeParse({
    id: 7,
    type: 'session_object_modified',
    created_at: '2026-05-28T12:00:00Z',
    session_object: { alias: 'job' },
    item_id: null,
  });
  assert.ok(odd.success);
  assert.equal(odd.data.session_object?.alias, 'job');
  assert.equal(odd.data.created_at, undefined);
  const posted = SessionEvent.safeParse({
    type: 'session_thread_item_posted',
    session_object: 'job',
    alias: 'job',
    created_at: 1714150000000,
  });
  assert.ok(posted.success);
  assert.equal(posted.data.alias, 'job');
  assert.equal(posted.data.created_at, 1714150000000);
  assert.equal(SessionEvent.safeParse({ alias: 'job' }).success, false, 'type stays required');
});
