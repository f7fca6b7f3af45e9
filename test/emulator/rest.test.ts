/** REST surface of the emulator: auth, access, session objects, response shapes, malformed requests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, me, post, world, THREAD_VALUE } from './helpers';

const ISO_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

test('users/me: identity nested and top-level; 401 for unknown or missing key; 403/401 flips and restores', async (t) => {
  const w = await world(t);
  const ok = await me(w.emu, w.worker.api_key);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.user, { user_id: w.worker.user_id, name: 'Worker', email: 'worker@example.test' });
  assert.equal(ok.body.user_id, w.worker.user_id);
  assert.equal(ok.body.email, 'worker@example.test');

  const unknown = await me(w.emu, 'bhk_not_a_real_key_at_all');
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error.code, 'unauthorized');
  assert.equal((await me(w.emu)).status, 401);

  w.emu.control.setAuth(w.worker.user_id, 403);
  const forbidden = await me(w.emu, w.worker.api_key);
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.error.code, 'forbidden');
  // The flip is a revoked key: data commands refuse it too.
  assert.equal((await cmd(w, w.worker.api_key, 'list_session_objects')).status, 403);
  w.emu.control.setAuth(w.worker.user_id, 401);
  assert.equal((await me(w.emu, w.worker.api_key)).status, 401);
  w.emu.control.setAuth(w.worker.user_id, 'ok');
  assert.equal((await me(w.emu, w.worker.api_key)).status, 200);
  // Another user's key was never affected.
  assert.equal((await me(w.emu, w.human.api_key)).body.user_id, w.human.user_id);
});

test('users/me shape variants: nested only, top-level with id', async (t) => {
  const w = await world(t);
  w.emu.control.setShapes({ usersMe: 'nested' });
  const nested = await me(w.emu, w.worker.api_key);
  assert.deepEqual(Object.keys(nested.body), ['user']);
  assert.equal(nested.body.user.user_id, w.worker.user_id);
  w.emu.control.setShapes({ usersMe: 'flat_id' });
  const flat = await me(w.emu, w.worker.api_key);
  assert.deepEqual(flat.body, { id: w.worker.user_id, name: 'Worker', email: 'worker@example.test' });
});

test('access: unknown session → 404 not_found; existing session without access → 403 forbidden; grant/revoke', async (t) => {
  const w = await world(t);
  const unknownSession = await post(w.emu, w.worker.api_key, w.ref.revision_id, {
    engine: 'workflow_blobhub',
    command: 'list_session_objects',
    session_id: 'ses_nope',
  });
  assert.equal(unknownSession.status, 404);
  assert.equal(unknownSession.body.error.code, 'not_found');
  const wrongRevision = await post(w.emu, w.worker.api_key, 'rev_other', {
    engine: 'workflow_blobhub',
    command: 'list_session_objects',
    session_id: w.ref.session_id,
  });
  assert.equal(wrongRevision.status, 404);

  const noAccess = await cmd(w, w.outsider.api_key, 'list_session_objects');
  assert.equal(noAccess.status, 403);
  assert.equal(noAccess.body.error.code, 'forbidden');
  w.emu.control.grantAccess(w.ref, w.outsider.user_id);
  assert.equal((await cmd(w, w.outsider.api_key, 'list_session_objects')).status, 200);
  w.emu.control.revokeAccess(w.ref, w.outsider.user_id);
  assert.equal((await cmd(w, w.outsider.api_key, 'list_session_objects')).status, 403);
  // No key at all on a data command.
  assert.equal(
    (
      await post(w.emu, undefined, w.ref.revision_id, {
        engine: 'workflow_blobhub',
        command: 'list_session_objects',
        session_id: w.ref.session_id,
      })
    ).status,
    401,
  );
});

test('upload replaces the whole value and restamps updated_at; download returns the envelope both ways', async (t) => {
  const w = await world(t);
  const first = await cmd(w, w.worker.api_key, 'upload_session_object', {
    alias: 'config',
    value: { type: 'message', a: 1, nested: { keep: true } },
  });
  assert.equal(first.status, 200);
  assert.deepEqual(first.body, {});
  const d1 = await cmd(w, w.worker.api_key, 'download_session_object', { alias: 'config' });
  assert.equal(d1.status, 200);
  assert.match(d1.body.object.updated_at, ISO_MICROS);
  assert.deepEqual(d1.body.object, {
    revision_id: w.ref.revision_id,
    session_id: w.ref.session_id,
    alias: 'config',
    updated_at: d1.body.object.updated_at,
    value: { type: 'message', a: 1, nested: { keep: true } },
  });
  assert.equal(d1.body.alias, 'config', 'envelope fields at top level too');
  assert.deepEqual(d1.body.value, d1.body.object.value);

  await cmd(w, w.human.api_key, 'upload_session_object', { alias: 'config', value: { type: 'message', b: 2 } });
  const d2 = await cmd(w, w.worker.api_key, 'download_session_object', { alias: 'config' });
  assert.deepEqual(d2.body.object.value, { type: 'message', b: 2 }, 'no key of the old value survives');
  assert.ok(d2.body.object.updated_at > d1.body.object.updated_at);

  const missing = await cmd(w, w.worker.api_key, 'download_session_object', { alias: 'nope' });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');

  const noType = await cmd(w, w.worker.api_key, 'upload_session_object', { alias: 'bad', value: { a: 1 } });
  assert.equal(noType.status, 400);
  assert.equal(noType.body.error.code, 'invalid_request');
  assert.match(noType.body.error.message, /value\.type/);
  assert.equal((await cmd(w, w.worker.api_key, 'download_session_object', { alias: 'bad' })).status, 404);
});

test('download and list shape variants; every command also answers on /data/query', async (t) => {
  const w = await world(t);
  await cmd(w, w.worker.api_key, 'upload_session_object', { alias: 'worker', value: THREAD_VALUE });
  await cmd(w, w.worker.api_key, 'upload_session_object', { alias: 'notes', value: { type: 'message' } });

  assert.deepEqual((await cmd(w, w.worker.api_key, 'list_session_objects')).body, { aliases: ['worker', 'notes'] });
  w.emu.control.setShapes({ list: 'objects' });
  assert.deepEqual((await cmd(w, w.worker.api_key, 'list_session_objects')).body, {
    objects: [
      { alias: 'worker', value: { type: 'thread' } },
      { alias: 'notes', value: { type: 'message' } },
    ],
  });
  w.emu.control.setShapes({ list: 'items' });
  assert.deepEqual(
    (await cmd(w, w.worker.api_key, 'list_session_objects')).body.items.map((o: { alias: string }) => o.alias),
    ['worker', 'notes'],
  );

  w.emu.control.setShapes({ download: 'wrapped' });
  const wrapped = await cmd(w, w.worker.api_key, 'download_session_object', { alias: 'notes' });
  assert.deepEqual(Object.keys(wrapped.body), ['object']);
  w.emu.control.setShapes({ download: 'top' });
  const top = await cmd(w, w.worker.api_key, 'download_session_object', { alias: 'notes' });
  assert.equal(top.body.object, undefined);
  assert.equal(top.body.alias, 'notes');
  assert.deepEqual(top.body.value, { type: 'message' });

  const viaQuery = await post(
    w.emu,
    w.worker.api_key,
    w.ref.revision_id,
    { engine: 'workflow_blobhub', command: 'list_session_objects', session_id: w.ref.session_id },
    'data/query',
  );
  assert.equal(viaQuery.status, 200);
  assert.equal(viaQuery.body.items.length, 2);
});

test('malformed requests get named 400 codes, never a stack trace', async (t) => {
  const w = await world(t);
  const cases: Array<[unknown, string]> = [
    ['{not json', 'invalid_json'],
    [{ engine: 'other', command: 'list_session_objects', session_id: w.ref.session_id }, 'unknown_engine'],
    [{ engine: 'workflow_blobhub', command: 'explode', session_id: w.ref.session_id }, 'unknown_command'],
    [{ engine: 'workflow_blobhub' }, 'invalid_request'],
    [[1, 2], 'invalid_request'],
    [
      { engine: 'workflow_blobhub', command: 'download_session_object', session_id: w.ref.session_id },
      'invalid_request',
    ],
    [
      {
        engine: 'workflow_blobhub',
        command: 'post_session_thread_item',
        session_id: w.ref.session_id,
        alias: 'x',
        content: [{ type: 'text' }],
      },
      'invalid_request',
    ],
  ];
  for (const [body, code] of cases) {
    const res = await post(w.emu, w.worker.api_key, w.ref.revision_id, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.error.code, code, JSON.stringify(body));
    assert.equal(typeof res.body.error.message, 'string');
    assert.doesNotMatch(res.body.error.message, /\n\s+at /);
  }
  const wrongMethod = await fetch(`${w.emu.apiUrl}/revisions/${w.ref.revision_id}/data`, {
    headers: { 'x-api-key': w.worker.api_key },
  });
  assert.equal(wrongMethod.status, 405);
  const noRoute = await fetch(`${w.emu.apiUrl}/blobs`, { headers: { 'x-api-key': w.worker.api_key } });
  assert.equal(noRoute.status, 404);
  assert.equal(((await noRoute.json()) as { error: { code: string } }).error.code, 'not_found');
});
