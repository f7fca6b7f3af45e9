/** Fault injection per command and request counters, observed over real sockets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, connect, makeThread, me, text, world } from './helpers';

test('status fault: 5xx for the named command only, `times` spends it', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  w.emu.control.addFault({ command: 'post_session_thread_item', kind: 'status', status: 503, times: 2 });
  for (let i = 0; i < 2; i++) {
    const res = await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text('x') });
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'service_unavailable');
  }
  assert.equal((await cmd(w, w.worker.api_key, 'list_session_objects')).status, 200, 'other commands unaffected');
  assert.equal(
    (await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text('x') })).status,
    200,
  );
  assert.equal(w.emu.control.listItems(w.ref, 'job').length, 1, 'the faulted posts stored nothing');
  assert.deepEqual(w.emu.control.faults(), []);
  w.emu.control.addFault({ command: 'users/me', kind: 'status' });
  assert.equal((await me(w.emu, w.worker.api_key)).status, 500);
  w.emu.control.clearFaults('users/me');
  assert.equal((await me(w.emu, w.worker.api_key)).status, 200);
});

test('rate_limit fault: 429 with a Retry-After header', async (t) => {
  const w = await world(t);
  w.emu.control.addFault({ command: 'list_session_objects', kind: 'rate_limit', retryAfterSec: 7, times: 1 });
  const res = await cmd(w, w.worker.api_key, 'list_session_objects');
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '7');
  assert.equal(res.body.error.code, 'rate_limited');
  assert.equal((await cmd(w, w.worker.api_key, 'list_session_objects')).status, 200);
});

test('drop_before: the connection dies and nothing is stored', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  w.emu.control.addFault({ command: 'post_session_thread_item', kind: 'drop_before', times: 1 });
  await assert.rejects(
    cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text('lost') }),
    TypeError,
  );
  assert.equal(w.emu.control.listItems(w.ref, 'job').length, 0);
  assert.equal(w.emu.control.events(w.ref).filter((e) => e.type === 'session_thread_item_posted').length, 0);
  assert.equal(w.emu.control.counters().mutationsApplied, 1, 'only the envelope upload was applied');
});

test('drop_after: the item is stored (and announced) but the client sees a connection error', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  w.emu.control.addFault({ command: 'post_session_thread_item', kind: 'drop_after', times: 1 });
  await assert.rejects(
    cmd(w, w.worker.api_key, 'post_session_thread_item', {
      alias: 'job',
      content: text('kept'),
      metadata: { emission_id: 'em_1' },
    }),
    TypeError,
  );
  const items = w.emu.control.listItems(w.ref, 'job');
  assert.equal(items.length, 1);
  assert.equal(items[0].metadata?.emission_id, 'em_1');
  assert.equal(w.emu.control.events(w.ref).at(-1)!.type, 'session_thread_item_posted');
});

test('latency fault delays the answer; probability draws from the seeded RNG reproducibly', async (t) => {
  const w = await world(t);
  w.emu.control.addFault({ command: 'list_session_objects', kind: 'latency', latencyMs: 300, times: 1 });
  const started = Date.now();
  assert.equal((await cmd(w, w.worker.api_key, 'list_session_objects')).status, 200);
  assert.ok(Date.now() - started >= 280, `took ${Date.now() - started} ms`);
  const quick = Date.now();
  await cmd(w, w.worker.api_key, 'list_session_objects');
  assert.ok(Date.now() - quick < 280);

  const pattern = async (seed: number) => {
    const x = await world(t, { seed });
    x.emu.control.addFault({ command: 'list_session_objects', kind: 'status', probability: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) statuses.push((await cmd(x, x.worker.api_key, 'list_session_objects')).status);
    return statuses;
  };
  const a = await pattern(42);
  assert.deepEqual(await pattern(42), a, 'same seed, same outcomes');
  assert.ok(a.includes(500) && a.includes(200), `both outcomes occur: ${a.join(',')}`);
});

test('realtime faults: status and drop_before on the handshake', async (t) => {
  const w = await world(t);
  w.emu.control.addFault({ command: 'realtime', kind: 'status', status: 502, times: 1 });
  await assert.rejects(connect(t, w.emu.realtimeUrl, { header: w.worker.api_key }), { status: 502 });
  w.emu.control.addFault({ command: 'realtime', kind: 'drop_before', times: 1 });
  await assert.rejects(connect(t, w.emu.realtimeUrl, { header: w.worker.api_key }));
  w.emu.control.addFault({ command: 'realtime', kind: 'drop_after', times: 1 });
  const opened = await connect(t, w.emu.realtimeUrl, { header: w.worker.api_key });
  assert.equal(await new Promise((resolve) => opened.ws.once('close', resolve)), 1006, 'opened, then cut');
  assert.ok(await connect(t, w.emu.realtimeUrl, { header: w.worker.api_key }));
});

test("a '*' rule hits every route, users/me and data commands alike", async (t) => {
  const w = await world(t);
  w.emu.control.addFault({ command: '*', kind: 'status', status: 502, times: 2 });
  assert.equal((await me(w.emu, w.worker.api_key)).status, 502);
  assert.equal((await cmd(w, w.worker.api_key, 'list_session_objects')).status, 502);
  assert.equal((await cmd(w, w.worker.api_key, 'list_session_objects')).status, 200);
});

test('invalid fault rules are refused with invalid_request', async (t) => {
  const w = await world(t);
  assert.throws(() => w.emu.control.addFault({ command: 'x', kind: 'status', status: 404 }), {
    code: 'invalid_request',
  });
  assert.throws(() => w.emu.control.addFault({ command: 'x', kind: 'explode' as 'status' }), {
    code: 'invalid_request',
  });
});

test('counters: per route, command, user, mutating; only users/me when nothing else was touched; reset', async (t) => {
  const w = await world(t);
  await me(w.emu, w.worker.api_key);
  let c = w.emu.control.counters();
  assert.deepEqual(c.byRoute, { 'GET /v1/users/me': 1 });
  assert.deepEqual(c.byCommand, { 'users/me': 1 });
  assert.deepEqual(c.byUser, { [w.worker.user_id]: 1 });
  assert.equal(c.mutating, 0);

  await makeThread(w, w.worker.api_key, 'job');
  await cmd(w, w.human.api_key, 'post_session_thread_item', { alias: 'job', content: text('x') });
  await cmd(w, w.human.api_key, 'list_session_thread_items', { alias: 'job' });
  await cmd(w, w.outsider.api_key, 'upload_session_object', { alias: 'x', value: { type: 'message' } });
  c = w.emu.control.counters();
  assert.equal(c.requests, 5);
  assert.equal(c.byRoute['POST /v1/revisions/{rev}/data'], 4);
  assert.deepEqual(c.byCommand, {
    'users/me': 1,
    upload_session_object: 2,
    post_session_thread_item: 1,
    list_session_thread_items: 1,
  });
  assert.equal(c.byUser[w.human.user_id], 2);
  assert.equal(c.byUser[w.outsider.user_id], 1);
  assert.equal(c.mutating, 3, 'received mutations, the forbidden one included');
  assert.equal(c.mutationsApplied, 2);
  // Control calls never count.
  w.emu.control.postItem(w.human.user_id, w.ref, 'job', text('y'));
  assert.equal(w.emu.control.counters().requests, 5);
  w.emu.control.resetCounters();
  assert.deepEqual(w.emu.control.counters(), {
    requests: 0,
    byRoute: {},
    byCommand: {},
    byUser: {},
    mutating: 0,
    mutationsApplied: 0,
  });
});

test('malformed fault: HTTP 200 with the raw body; applied:false stores nothing, applied:true stores the item', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  w.emu.control.addFault({ command: 'post_session_thread_item', kind: 'malformed', body: '{"item":', times: 1 });
  const raw = (): Promise<Response> =>
    fetch(`${w.emu.apiUrl}/revisions/${w.ref.revision_id}/data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': w.worker.api_key },
      body: JSON.stringify({
        engine: 'workflow_blobhub',
        command: 'post_session_thread_item',
        session_id: w.ref.session_id,
        alias: 'job',
        content: text('x'),
      }),
      signal: AbortSignal.timeout(10_000),
    });
  let res = await raw();
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '{"item":');
  assert.equal(w.emu.control.listItems(w.ref, 'job').length, 0, 'not applied');
  w.emu.control.addFault({ command: 'post_session_thread_item', kind: 'malformed', applied: true, times: 1 });
  res = await raw();
  assert.equal(await res.text(), '{"truncated', 'default body');
  assert.equal(w.emu.control.listItems(w.ref, 'job').length, 1, 'applied');
  w.emu.control.addFault({ command: 'realtime', kind: 'malformed', body: 'nope', times: 1 });
  await assert.rejects(
    connect(t, w.emu.realtimeUrl, { header: w.worker.api_key }),
    'a 200 instead of an upgrade fails the handshake',
  );
});

test('client_error fault: HTTP 400 that applies nothing; an `alias` rule hits only that thread', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  await makeThread(w, w.worker.api_key, 'other');
  w.emu.control.addFault({ command: 'post_session_thread_item', kind: 'client_error', alias: 'job', times: 1 });
  const other = await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'other', content: text('fine') });
  assert.equal(other.status, 200, 'another alias is not hit');
  const refused = await cmd(w, w.worker.api_key, 'post_session_thread_item', {
    alias: 'job',
    content: text('refused'),
  });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, 'invalid_request');
  assert.equal(w.emu.control.listItems(w.ref, 'job').length, 0, 'nothing stored');
  assert.equal(
    (await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text('later') })).status,
    200,
    '`times` spent',
  );
});
