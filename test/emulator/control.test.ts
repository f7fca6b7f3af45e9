/** The control API over HTTP (`/__control/<method>`) through `connectControl`, and its error answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectControl, startEmulator } from '../../main/emulator/index';
import { me, post } from './helpers';

test('a remote control sets up users, sessions, objects and items that the REST API then serves', async (t) => {
  const emu = await startEmulator({ pageSize: 2 });
  t.after(() => emu.close());
  const control = connectControl(emu.controlUrl);
  const worker = await control.createUser({ name: 'W', email: 'w@example.test' });
  const human = await control.createUser({ name: 'H', email: 'h@example.test', apiKey: 'bhk_fixed_key_for_test' });
  assert.match(worker.api_key, /^bhk_[A-Za-z0-9_-]{20,}$/);
  assert.equal(human.api_key, 'bhk_fixed_key_for_test');
  assert.equal((await me(emu, 'bhk_fixed_key_for_test')).body.user_id, human.user_id);

  const ref = await control.createSession({ revision_id: 'rev_fixed', members: [worker.user_id] });
  assert.equal(ref.revision_id, 'rev_fixed');
  assert.match(ref.session_id, /^ses_/);
  await assert.rejects(control.uploadObject(human.user_id, ref, 'job', { type: 'thread', thread: {} }), {
    code: 'forbidden',
    status: 403,
  });
  await control.grantAccess(ref, human.user_id);
  const env = await control.uploadObject(human.user_id, ref, 'job', { type: 'thread', thread: {} });
  assert.equal(env.alias, 'job');
  const item = await control.postItem(human.user_id, ref, 'job', [{ type: 'text', text: 'hello' }], { k: 1 });
  assert.equal(item.user_id, human.user_id);
  assert.deepEqual(
    (await control.listItems(ref, 'job')).map((i) => i.id),
    [item.id],
  );
  assert.deepEqual((await control.getObject(ref, 'job'))?.value, { type: 'thread', thread: {} });
  assert.equal(await control.getObject(ref, 'missing'), null);
  assert.deepEqual(
    (await control.events(ref)).map((e) => e.type),
    ['session_object_modified', 'session_thread_item_posted'],
  );

  const listed = await post(emu, worker.api_key, ref.revision_id, {
    engine: 'workflow_blobhub',
    command: 'list_session_thread_items',
    session_id: ref.session_id,
    alias: 'job',
  });
  assert.equal(listed.body.items[0].id, item.id);

  await control.addFault({ command: 'list_session_objects', kind: 'status', status: 500, times: 1 });
  assert.equal((await control.faults()).length, 1);
  await control.setShapes({ list: 'objects' });
  assert.equal(
    (
      await post(emu, worker.api_key, ref.revision_id, {
        engine: 'workflow_blobhub',
        command: 'list_session_objects',
        session_id: ref.session_id,
      })
    ).status,
    500,
  );
  const objects = await post(emu, worker.api_key, ref.revision_id, {
    engine: 'workflow_blobhub',
    command: 'list_session_objects',
    session_id: ref.session_id,
  });
  assert.deepEqual(objects.body, { objects: [{ alias: 'job', value: { type: 'thread' } }] });

  await control.setAuth(worker.user_id, 403);
  assert.equal((await me(emu, worker.api_key)).status, 403);
  const counters = await control.counters();
  assert.equal(counters.byCommand['users/me'], 2);
  await control.resetCounters();
  assert.equal((await control.counters()).requests, 0);
  await control.deleteObject(ref, 'job');
  assert.deepEqual(await control.listItems(ref, 'job'), []);
  assert.equal(await control.realtimeConnections(), 0);
});

test('control errors: unknown method 404, bad arguments 400 naming the argument, bad JSON 400; GET for readers', async (t) => {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const call = async (method: string, init: RequestInit = {}) => {
    const res = await fetch(`${emu.controlUrl}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      ...init,
    });
    return {
      status: res.status,
      body: (await res.json()) as { result?: unknown; error?: { code: string; message: string } },
    };
  };
  const unknown = await call('explode', { body: '{}' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error?.code, 'not_found');
  const bad = await call('setItemSizeCap', { body: JSON.stringify({ bytes: -1 }) });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error?.code, 'invalid_request');
  assert.match(bad.body.error.message, /bytes/);
  const badUser = await call('createUser', { body: JSON.stringify({ name: 'x' }) });
  assert.equal(badUser.body.error?.code, 'invalid_request');
  assert.match(badUser.body.error.message, /email/);
  assert.equal((await call('createUser', { body: '{nope' })).body.error?.code, 'invalid_json');
  const missingUser = await call('setAuth', { body: JSON.stringify({ userId: 'usr_nobody', mode: 403 }) });
  assert.equal(missingUser.status, 404);

  const viaGet = await fetch(`${emu.controlUrl}/counters`);
  assert.equal(viaGet.status, 200);
  assert.equal(((await viaGet.json()) as { result: { requests: number } }).result.requests, 0);
  // In-process calls are validated by the same schemas.
  assert.throws(() => emu.control.setPageSize(0), { code: 'invalid_request' });
});

test('close() leaves nothing open: the port refuses connections afterwards', async () => {
  const emu = await startEmulator();
  const user = emu.control.createUser({ name: 'A', email: 'a@example.test' });
  assert.equal((await me(emu, user.api_key)).status, 200);
  emu.control.addFault({ command: 'users/me', kind: 'latency', latencyMs: 60_000 });
  const hanging = me(emu, user.api_key).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 50));
  await emu.close();
  assert.ok((await hanging) instanceof Error, 'a request mid-latency is cut off by close');
  await assert.rejects(fetch(`${emu.apiUrl}/users/me`, { signal: AbortSignal.timeout(3_000) }));
});
