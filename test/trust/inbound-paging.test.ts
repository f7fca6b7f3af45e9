/**
 * Inbound paging when several items share one `created_at` (the API promises a strict `created_since`, not unique
 * stamps): the InboundQueue against an in-process page server with the emulator's listing rules, and the same
 * burst through the real worker, the emulator's equal-stamp knob and the fake agent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InboundQueue, type InboundCursor } from '../../main/core/harness/inbound-queue';
import type { ThreadItem } from '../../main/core/api/types';
import { seededRandom } from '../../main/emulator/faults';
import { makeRig, waitFor } from '../harness/support';

const T = (n: number): string => `2026-05-28T12:00:00.${String(n).padStart(6, '0')}+00:00`;

/** The emulator's listing: ascending, strict `created_since` on the strings, one page of `pageSize`. */
function pager(items: ThreadItem[], pageSize: number, calls = { n: 0 }) {
  return (since: string | undefined): Promise<ThreadItem[]> => {
    calls.n++;
    return Promise.resolve(items.filter((i) => since === undefined || i.created_at > since).slice(0, pageSize));
  };
}

const human = (id: string, stamp: number): ThreadItem => ({
  id,
  created_at: T(stamp),
  user_id: 'u_human',
  content: [{ type: 'text', text: id }],
});

test('a page boundary inside a group of equal stamps skips nothing and repeats nothing', async () => {
  // Page size 3; b, c, d share one stamp, so the first page (a, b, c) ends inside the group.
  const items = [
    human('a', 1),
    ...['b', 'c', 'd'].map((id) => human(id, 2)),
    human('e', 3),
    human('f', 3),
    human('g', 4),
  ];
  const q = new InboundQueue(null, (i) => i.user_id === 'u_worker');
  const calls = { n: 0 };
  await q.tail(pager(items, 3, calls), 100);
  assert.deepEqual(
    q.takeQueued().map((i) => i.id),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
  );
  assert.ok(calls.n <= 6, `bounded requests: ${calls.n}`);
  const cursor = q.finishTurn();
  assert.equal(cursor?.item_id, 'g');
  // Nothing new: an idle tail returns nothing queued.
  await q.tail(pager(items, 3), 100);
  assert.equal(q.queuedCount, 0);
});

test('the persisted cursor keeps the consumed ids of its stamp: a restart mid-group delivers the rest once', async () => {
  const items = [human('a', 1), human('b', 2), human('c', 2)];
  const q = new InboundQueue(null, () => false);
  await q.tail(pager(items, 10), 100);
  q.takeQueued();
  let cursor = q.finishTurn()!;
  assert.deepEqual(cursor.done_ids, ['b', 'c']);
  assert.equal(cursor.fetch_since, T(1));
  // d shares c's stamp and arrives later; the worker restarts from the persisted cursor (a YAML round trip).
  items.push(human('d', 2), human('e', 4));
  cursor = JSON.parse(JSON.stringify(cursor)) as InboundCursor;
  const again = new InboundQueue(cursor, () => false);
  await again.tail(pager(items, 3), 100);
  assert.deepEqual(
    again.takeQueued().map((i) => i.id),
    ['d', 'e'],
  );
});

test('a cursor from an older thread.yaml (no fetch_since) still works as before', async () => {
  const items = [human('a', 1), human('b', 2), human('c', 3)];
  const q = new InboundQueue({ created_at: T(2), item_id: 'b' }, () => false);
  await q.tail(pager(items, 10), 100);
  assert.deepEqual(
    q.takeQueued().map((i) => i.id),
    ['c'],
  );
});

test('a server ignoring created_since cannot loop the tail', async () => {
  const items = [human('a', 1), human('b', 2), human('c', 3)];
  const calls = { n: 0 };
  const q = new InboundQueue(null, () => false);
  await q.tail(() => (calls.n++, Promise.resolve(items.slice(0, 2))), 1000);
  assert.ok(calls.n <= 4, `stopped after ${calls.n} requests`);
  assert.deepEqual(
    q.takeQueued().map((i) => i.id),
    ['a', 'b'],
  );
});

test('seeded: bursts of equal stamps, random page sizes, turns and restarts: every item exactly once', async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rnd = seededRandom(seed);
    const pageSize = 1 + Math.floor(rnd() * 6);
    const items: ThreadItem[] = [];
    let stamp = 1;
    let atStamp = 0;
    let n = 0;
    const delivered: string[] = [];
    let cursor: InboundCursor | null = null;
    let q = new InboundQueue(cursor, (i) => i.user_id === 'u_worker');
    for (let round = 0; round < 12; round++) {
      // A burst: at most a page of items per stamp (more than a page of one stamp is unreachable with a strict
      // bound); a later burst may continue the last burst's stamp.
      const burst = Math.floor(rnd() * 8);
      for (let k = 0; k < burst; k++) {
        if (atStamp >= pageSize || (atStamp > 0 && rnd() < 0.3)) {
          stamp++;
          atStamp = 0;
        }
        const self = rnd() < 0.3;
        items.push({ ...human(`i${n++}`, stamp), user_id: self ? 'u_worker' : 'u_human' });
        atStamp++;
      }
      await q.tail(pager(items, pageSize), 1000);
      delivered.push(...q.takeQueued().map((i) => i.id));
      const moved = q.finishTurn();
      if (moved) cursor = JSON.parse(JSON.stringify(moved)) as InboundCursor;
      if (rnd() < 0.3) q = new InboundQueue(cursor, (i) => i.user_id === 'u_worker');
    }
    await q.tail(pager(items, pageSize), 1000);
    delivered.push(...q.takeQueued().map((i) => i.id));
    const expected = items.filter((i) => i.user_id !== 'u_worker').map((i) => i.id);
    assert.deepEqual(delivered, expected, `seed ${seed}, page size ${pageSize}`);
  }
});

test('through the worker: a burst sharing one created_at across a page boundary reaches the agent exactly once', async (t) => {
  const rig = await makeRig(t, { pageSize: 4 });
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  await waitFor(() => rig.kinds('job').includes('turn_end') || rig.items('worker').length > 0, 'started');
  // Eight human items, every three sharing one stamp, posted in one tick: the worker's first page (4) ends inside
  // the second group (a strict created_since of its stamp would skip m4 and m5).
  rig.emu.control.setItemStampRepeat(3);
  const burst = Array.from({ length: 8 }, (_, i) => `m${i}`);
  for (const text of burst) rig.say('job', text);
  rig.emu.control.setItemStampRepeat(1);
  const stamps = rig.items('job').filter((i) => burst.includes(i.content[0]?.text ?? ''));
  assert.equal(new Set(stamps.map((i) => (i as unknown as { created_at: string }).created_at)).size, 3);
  await waitFor(
    async () => {
      const got = (await rig.turnsReceived()).join('\n\n').split('\n\n');
      return burst.every((m) => got.includes(m));
    },
    'every burst item delivered',
    { timeoutMs: 15_000 },
  );
  // And a later item after a turn or two: nothing repeated.
  await waitFor(() => rig.kinds('job').filter((k) => k === 'turn_end').length >= 1, 'a turn ended');
  rig.say('job', 'last');
  await waitFor(async () => (await rig.turnsReceived()).some((x) => x.includes('last')), 'last delivered', {
    timeoutMs: 15_000,
  });
  const all = (await rig.turnsReceived()).join('\n\n').split('\n\n');
  for (const m of [...burst, 'last']) assert.equal(all.filter((x) => x === m).length, 1, `${m} exactly once`);
});
