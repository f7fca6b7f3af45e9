/** Thread items: stamping, ordering, strict paging in both directions, envelope checks, size cap, cascade. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, makeThread, text, world } from './helpers';

const ISO_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

test('post stamps id, created_at, user_id, revision_id, session_id, alias; get returns it', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  const res = await cmd(w, w.human.api_key, 'post_session_thread_item', {
    alias: 'job',
    content: [...text('hi'), { type: 'json', json: { n: 1 } }],
    metadata: { type: 'text' },
    parent_id: 'itm_parent',
  });
  assert.equal(res.status, 200);
  const item = res.body.item;
  assert.match(item.id, /^itm_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.match(item.created_at, ISO_MICROS);
  assert.equal(item.user_id, w.human.user_id);
  assert.equal(item.revision_id, w.ref.revision_id);
  assert.equal(item.session_id, w.ref.session_id);
  assert.equal(item.alias, 'job');
  assert.equal(item.parent_id, 'itm_parent');
  assert.deepEqual(item.metadata, { type: 'text' });
  assert.deepEqual(item.content, [
    { type: 'text', text: 'hi' },
    { type: 'json', json: { n: 1 } },
  ]);

  const got = await cmd(w, w.worker.api_key, 'get_session_thread_item', { alias: 'job', item_id: item.id });
  assert.equal(got.status, 200);
  assert.deepEqual(got.body.item, item);
  // Mismatched alias or an unknown id → not_found.
  await makeThread(w, w.worker.api_key, 'other');
  for (const params of [
    { alias: 'other', item_id: item.id },
    { alias: 'job', item_id: 'itm_missing' },
  ]) {
    const miss = await cmd(w, w.worker.api_key, 'get_session_thread_item', params);
    assert.equal(miss.status, 404);
    assert.equal(miss.body.error.code, 'not_found');
  }
});

test('created_at strictly increases, same format, for many items posted fast (concurrently)', async (t) => {
  const w = await world(t, { pageSize: 500 });
  await makeThread(w, w.worker.api_key, 'job');
  const posted = await Promise.all(
    Array.from({ length: 120 }, (_, i) =>
      cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text(`m${i}`) }),
    ),
  );
  assert.ok(posted.every((p) => p.status === 200));
  const listed = (await cmd(w, w.worker.api_key, 'list_session_thread_items', { alias: 'job', ascending: true })).body
    .items;
  assert.equal(listed.length, 120);
  for (let i = 1; i < listed.length; i++) {
    assert.match(listed[i].created_at, ISO_MICROS);
    assert.ok(listed[i].created_at > listed[i - 1].created_at, `item ${i} not after item ${i - 1}`);
    assert.equal(listed[i].created_at.length, listed[0].created_at.length);
  }
  assert.equal(new Set(listed.map((i: { id: string }) => i.id)).size, 120);
});

test('listing: newest first by default, ascending on request, one server page, strict created_since / created_before across pages', async (t) => {
  const w = await world(t, { pageSize: 4 });
  await makeThread(w, w.worker.api_key, 'job');
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    ids.push(
      (await cmd(w, w.human.api_key, 'post_session_thread_item', { alias: 'job', content: text(`m${i}`) })).body.item
        .id,
    );
  }
  const list = async (params: Record<string, unknown>) => {
    const res = await cmd(w, w.worker.api_key, 'list_session_thread_items', { alias: 'job', ...params });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items as Array<{ id: string; created_at: string }>;
  };
  assert.deepEqual(
    (await list({})).map((i) => i.id),
    ids.slice(6).reverse(),
    'default: newest first, one page',
  );
  assert.deepEqual(
    (await list({ ascending: true })).map((i) => i.id),
    ids.slice(0, 4),
  );

  // Forward tail: created_since = last seen, until an empty page.
  const forward: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await list({ ascending: true, ...(cursor ? { created_since: cursor } : {}) });
    if (page.length === 0) break;
    forward.push(...page.map((i) => i.id));
    cursor = page.at(-1)!.created_at;
  }
  assert.deepEqual(forward, ids, 'forward paging returns every item once, in order');

  // Backward: created_before = oldest seen, newest first.
  const backward: string[] = [];
  let before: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await list(before ? { created_before: before } : {});
    if (page.length === 0) break;
    backward.push(...page.map((i) => i.id));
    before = page.at(-1)!.created_at;
  }
  assert.deepEqual(backward, [...ids].reverse());

  // Strictness: the bound's own item is excluded on both sides; a window between two items.
  const all = await list({ ascending: true, created_since: '0000' });
  assert.equal(all.length, 4);
  const second = (await cmd(w, w.worker.api_key, 'get_session_thread_item', { alias: 'job', item_id: ids[2] })).body
    .item.created_at;
  const sixth = (await cmd(w, w.worker.api_key, 'get_session_thread_item', { alias: 'job', item_id: ids[6] })).body.item
    .created_at;
  assert.deepEqual(
    (await list({ ascending: true, created_since: second, created_before: sixth })).map((i) => i.id),
    ids.slice(3, 6),
  );
  assert.deepEqual(
    (await list({ created_since: second, created_before: sixth })).map((i) => i.id),
    ids.slice(3, 6).reverse(),
  );
});

test('invalid_thread_envelope: missing alias or a non-thread value, for post and list', async (t) => {
  const w = await world(t);
  await cmd(w, w.worker.api_key, 'upload_session_object', { alias: 'note', value: { type: 'message', text: 'x' } });
  for (const alias of ['missing', 'note']) {
    const postRes = await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias, content: text('x') });
    assert.equal(postRes.status, 400);
    assert.equal(postRes.body.error.code, 'invalid_thread_envelope');
    const listRes = await cmd(w, w.worker.api_key, 'list_session_thread_items', { alias });
    assert.equal(listRes.body.error.code, 'invalid_thread_envelope');
  }
  assert.equal(w.emu.control.events(w.ref).filter((e) => e.type === 'session_thread_item_posted').length, 0);
});

test('item size cap: above it 413 thread_item_too_large and nothing stored; adjustable at runtime', async (t) => {
  const w = await world(t, { itemSizeCap: 2000 });
  await makeThread(w, w.worker.api_key, 'job');
  const small = await cmd(w, w.worker.api_key, 'post_session_thread_item', {
    alias: 'job',
    content: text('x'.repeat(1000)),
  });
  assert.equal(small.status, 200);
  assert.ok(Buffer.byteLength(JSON.stringify(small.body.item)) <= 2000);
  const big = await cmd(w, w.worker.api_key, 'post_session_thread_item', {
    alias: 'job',
    content: text('x'.repeat(1990)),
  });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'thread_item_too_large');
  // Multi-byte characters count as bytes, not characters.
  const emoji = await cmd(w, w.worker.api_key, 'post_session_thread_item', {
    alias: 'job',
    content: text('é'.repeat(900)),
  });
  assert.equal(emoji.status, 413);
  assert.equal(w.emu.control.listItems(w.ref, 'job').length, 1);
  w.emu.control.setItemSizeCap(10_000);
  assert.equal(
    (await cmd(w, w.worker.api_key, 'post_session_thread_item', { alias: 'job', content: text('x'.repeat(1990)) }))
      .status,
    200,
  );
});

test('deleting a thread envelope cascades: items gone, get → not_found, a new envelope starts empty', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  const item = (await cmd(w, w.human.api_key, 'post_session_thread_item', { alias: 'job', content: text('a') })).body
    .item;
  const del = await cmd(w, w.human.api_key, 'delete_session_object', { alias: 'job' });
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, {});
  assert.equal(
    (await cmd(w, w.worker.api_key, 'get_session_thread_item', { alias: 'job', item_id: item.id })).body.error.code,
    'not_found',
  );
  assert.equal((await cmd(w, w.worker.api_key, 'download_session_object', { alias: 'job' })).status, 404);
  assert.deepEqual((await cmd(w, w.worker.api_key, 'list_session_objects')).body.aliases, []);
  assert.equal((await cmd(w, w.worker.api_key, 'delete_session_object', { alias: 'job' })).status, 404);
  await makeThread(w, w.worker.api_key, 'job');
  assert.deepEqual((await cmd(w, w.worker.api_key, 'list_session_thread_items', { alias: 'job' })).body.items, []);
});

test('updating a thread envelope keeps its items', async (t) => {
  const w = await world(t);
  await makeThread(w, w.worker.api_key, 'job');
  await cmd(w, w.human.api_key, 'post_session_thread_item', { alias: 'job', content: text('a') });
  await cmd(w, w.human.api_key, 'upload_session_object', {
    alias: 'job',
    value: { type: 'thread', thread: { metadata: { instance: { state: 'pending' } } } },
  });
  assert.equal((await cmd(w, w.worker.api_key, 'list_session_thread_items', { alias: 'job' })).body.items.length, 1);
});

test('session events: fired by upload, post and delete with the documented fields; list_session_events pages by ms', async (t) => {
  const w = await world(t, { pageSize: 2 });
  const start = Date.now();
  const heard: string[] = [];
  const stop = w.emu.onEvent((e) => heard.push(e.type));
  w.emu.onEvent(() => {
    throw new Error('a broken listener must not fail the command');
  });
  await makeThread(w, w.worker.api_key, 'job');
  const item = (await cmd(w, w.human.api_key, 'post_session_thread_item', { alias: 'job', content: text('a') })).body
    .item;
  await cmd(w, w.human.api_key, 'delete_session_object', { alias: 'job' });
  const events = w.emu.control.events(w.ref);
  assert.deepEqual(
    events.map((e) => e.type),
    ['session_object_modified', 'session_thread_item_posted', 'session_object_deleted'],
  );
  assert.deepEqual(
    heard,
    events.map((e) => e.type),
  );
  stop();
  for (const e of events) {
    assert.equal(e.revision_id, w.ref.revision_id);
    assert.equal(e.session_id, w.ref.session_id);
    assert.equal(typeof e.id, 'string');
    assert.ok(Number.isInteger(e.created_at) && e.created_at >= start);
  }
  assert.deepEqual(events[0].session_object, { alias: 'job' });
  assert.equal(events[1].alias, 'job');
  assert.equal(events[1].item_id, item.id);
  assert.deepEqual(events[2].session_object, { alias: 'job' });

  const page1 = await cmd(w, w.worker.api_key, 'list_session_events', {});
  assert.deepEqual(
    page1.body.events.map((e: { id: string }) => e.id),
    events.slice(0, 2).map((e) => e.id),
  );
  const page2 = await cmd(w, w.worker.api_key, 'list_session_events', {
    created_since: page1.body.events[1].created_at,
  });
  assert.deepEqual(
    page2.body.events.map((e: { id: string }) => e.id),
    [events[2].id],
  );
  assert.equal((await cmd(w, w.outsider.api_key, 'list_session_events', {})).status, 403);
});
