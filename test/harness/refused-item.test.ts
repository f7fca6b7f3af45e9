/**
 * A reset after a permanent refusal gets the thread going (docs/outbound.md §3): the real worker host, the
 * emulator over 127.0.0.1 and the fake agent. An item the server refuses for good is marked `refused` in the
 * outbox journal when the thread fails; the next activation posts an `item_refused` status placeholder in its
 * place (same emission_id, same position) and everything after it as usual. A failure of the retry window
 * (5xx) is not a refusal: the reset retries the real item. The 3 × HTTP 400 case is in post-failed.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot } from './support';
import {
  POST,
  WAIT,
  activity,
  assertNoDuplicates,
  emissionOf,
  jsonLines,
  kindOf,
  startTwo,
  waitFailed,
} from './post-support';

/** A turn whose answer is 200 kB of text: within the 350 KiB budget, so only the server's cap refuses it. */
const BIG = { markers: { BIG: { steps: [{ thinking: 'Writing a lot.' }, { text: 'y'.repeat(200_000) }] } } };
/** Below a quarter of the budget, so the §8.2 re-fit (to ~50 kB) is refused too. */
const CAP = 40_000;

test('THREAD_ITEM_TOO_LARGE with the server still refusing the item: a reset posts a placeholder in its place and the thread goes on', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: BIG });
  const { host, before } = await startTwo(rig);
  rig.emu.control.setItemSizeCap(CAP);
  const askId = rig.say('a', 'say something BIG');
  const error = await waitFailed(rig, 'a');
  assert.equal(error.code, 'THREAD_ITEM_TOO_LARGE');
  await waitFor(() => rig.envelopeState('a') === 'failed', 'envelope failed', WAIT);
  await waitFor(() => activity(rig, 'thread_failed', 'a').length === 1, 'thread_failed posted', WAIT);

  const journal = await jsonLines(rig.paths.job(rig.ref.session_id).threadOutbox('a'));
  // The thinking went out (a done line); the text did not, nor the turn_end queued behind it.
  const done = new Set(journal.filter((l) => l.op === 'done').map((l) => l.id));
  const unposted = journal.filter((l) => l.op === 'emit' && !done.has(l.id)) as Array<{
    id: string;
    item: { metadata: { type: string } };
  }>;
  assert.deepEqual(
    unposted.map((l) => l.item.metadata.type),
    ['text', 'turn_end'],
  );
  const refused = journal.filter((l) => l.op === 'refused');
  assert.deepEqual(
    refused.map((l) => [l.id, l.code]),
    [[unposted[0].id, 'THREAD_ITEM_TOO_LARGE']],
  );
  assert.match(String(refused[0].message), /thread_item_too_large/);
  assert.ok(!JSON.stringify(refused).includes('yyyy'), 'the refused line never carries the content');

  // The cap stays: the server would refuse that text again, forever (this looped before the placeholder).
  rig.setState('a', 'pending');
  await waitFor(() => activity(rig, 'thread_activated', 'a').length === 2, 'second thread_activated', WAIT);
  await waitFor(() => rig.kinds('a').length >= before.length + 4, 'the placeholder and the rest are posted', WAIT);
  await new Promise((r) => setTimeout(r, 300));
  const after = rig.items('a');
  assert.deepEqual(after.slice(before.length).map(kindOf), ['human', 'thinking', 'status', 'turn_end']);
  assert.equal(after[before.length].id, askId);
  assert.deepEqual(
    after.slice(before.length + 2).map(emissionOf),
    unposted.map((l) => l.id),
    'same emission_ids, same order',
  );
  const placeholder = after[before.length + 2];
  assert.equal(placeholder.metadata?.status, 'item_refused');
  assert.deepEqual(placeholder.metadata?.detail, {
    code: 'THREAD_ITEM_TOO_LARGE',
    message: refused[0].message,
    kind: 'text',
  });
  assert.match(
    placeholder.content[0].text!,
    /^An item could not be posted \(THREAD_ITEM_TOO_LARGE: .*\); its full content is in thread\.log\.$/,
  );

  // The thread is active and answers the next turn, the cap still in place.
  await waitFor(() => rig.envelopeState('a') === 'active', 'active again', WAIT);
  await waitSnapshot(
    host,
    (s) => threadOf(s, 'a')?.state === 'active_idle' && threadOf(s, 'a')?.last_error === null,
    'snapshot: active, no error',
  );
  rig.say('a', 'third');
  await waitFor(() => agentTexts(rig, 'a').includes('Hello! You said: third'), 'a answers after the reset', WAIT);
  await waitFor(() => rig.kinds('a').at(-1) === 'turn_end', 'third turn posted', WAIT);
  assert.equal((await rig.threadYaml('a'))?.agent.state, 'active');
  assert.equal(activity(rig, 'thread_failed', 'a').length, 1, 'it did not fail again');
  assert.equal(after.filter((i) => kindOf(i) === 'status').length, 1);
  assertNoDuplicates(rig, 'a');
  assertNoDuplicates(rig, 'worker');
  assert.equal(
    (await jsonLines(rig.paths.job(rig.ref.session_id).threadOutbox('a'))).filter((l) => l.op !== 'cursor').length,
    0,
    'journal emptied',
  );
});

test('a failure of the retry window (5xx) is not a refusal: the reset posts the real items, no placeholder', async (t) => {
  const rig = await makeRig(t, { realtime: true });
  const { before } = await startTwo(rig, { postRetryWindowMs: 2_000 });
  rig.emu.control.addFault({ command: POST, alias: 'a', kind: 'status', status: 503 });
  const secondId = rig.say('a', 'second');
  const error = await waitFailed(rig, 'a', 15_000);
  assert.equal(error.code, 'THREAD_POST_FAILED');
  assert.match(error.message, /still failed after/);
  await waitFor(() => rig.envelopeState('a') === 'failed', 'envelope failed', WAIT);
  await waitFor(() => activity(rig, 'thread_failed', 'a').length === 1, 'thread_failed posted', WAIT);
  const journal = await jsonLines(rig.paths.job(rig.ref.session_id).threadOutbox('a'));
  assert.deepEqual(
    journal.filter((l) => l.op !== 'cursor').map((l) => l.op),
    ['emit', 'emit', 'emit'],
    'no refused line',
  );

  rig.emu.control.clearFaults();
  rig.setState('a', 'pending');
  await waitFor(() => rig.kinds('a').length >= before.length + 4, 'the unposted items are posted', WAIT);
  await new Promise((r) => setTimeout(r, 300));
  const after = rig.items('a');
  assert.equal(after[before.length].id, secondId);
  assert.deepEqual(
    after.slice(before.length + 1).map(kindOf),
    ['thinking', 'text', 'turn_end'],
    'the real items, in order',
  );
  assert.equal(after.at(-2)!.content[0].text, 'Hello! You said: second');
  await waitFor(() => rig.envelopeState('a') === 'active', 'active again', WAIT);
  rig.say('a', 'third');
  await waitFor(() => agentTexts(rig, 'a').includes('Hello! You said: third'), 'a answers after the reset', WAIT);
  assertNoDuplicates(rig, 'a');
});
