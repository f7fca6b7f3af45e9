/**
 * THREAD_POST_FAILED end to end (protocol §11): the real worker host, the emulator over 127.0.0.1 and the fake
 * agent. Posting one item of a thread that is refused 3 times (`API_COMMAND_FAILED`), or that keeps failing
 * for longer than the retry window, fails that thread — and only that thread; a reset to pending brings it
 * back and posts what was left unposted, once and in order, the refused item replaced by an `item_refused`
 * status placeholder (docs/outbound.md §3; more in refused-item.test.ts).
 *
 * Faults are scoped to one thread's posts (`alias`), so other threads and the `worker` activity thread post
 * normally. The 10-minute window is shortened through the host's `timing.postRetryWindowMs`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot } from './support';
import { isPidAlive } from '../../main/core/state/lock';
import { DEFAULT_THREAD_TIMING } from '../../main/core/harness/thread-context';
import {
  POST,
  WAIT,
  activity,
  argvs,
  assertNoDuplicates,
  emissionOf,
  jsonLines,
  kindOf,
  retriesOf,
  startTwo,
  turnsIn,
  waitFailed,
} from './post-support';

test("3 × API_COMMAND_FAILED (HTTP 400) on one of a thread's items fails that thread with THREAD_POST_FAILED; others go on", async (t) => {
  const rig = await makeRig(t, { realtime: true });
  const { host, otherFolder, before, pidA, pidB } = await startTwo(rig);
  const envelopeBefore = structuredClone(rig.emu.control.getObject(rig.ref, 'a')!.value) as unknown as {
    thread: { metadata: { instance: { state: string } } };
  };

  // Exactly three refusals, then the emulator would accept: a 4th attempt would store the item.
  rig.emu.control.addFault({ command: POST, alias: 'a', kind: 'client_error', times: 3 });
  const secondId = rig.say('a', 'second');
  const error = await waitFailed(rig, 'a');

  // thread.yaml carries the detail (protocol §6.2, §12).
  assert.equal(error.code, 'THREAD_POST_FAILED');
  assert.match(error.message, /failed 3 times/);
  assert.match(error.message, /HTTP 400 invalid_request/);
  assert.ok(!Number.isNaN(Date.parse(error.at)));

  // Three answers, two retries: the third is final, no fourth attempt (the fault is spent and nothing of the
  // second turn reached the server, although the emulator would now accept it).
  assert.deepEqual(rig.emu.control.faults(), []);
  const sectionLog = await jsonLines(rig.paths.job(rig.ref.session_id).sectionLog);
  const retries = await retriesOf(rig, 'a');
  assert.deepEqual(
    retries.map((l) => l.code),
    ['API_COMMAND_FAILED', 'API_COMMAND_FAILED'],
  );
  assert.equal(sectionLog.filter((l) => l.event === 'outbox_failed' && l.thread === 'a').length, 1);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(
    rig.items('a').map((i) => i.id),
    [...before.map((i) => i.id), secondId],
    'items posted before are untouched; nothing new',
  );

  // The envelope: instance.state failed, nothing else changed, no failure detail on the wire (§6.4, §12.3).
  await waitFor(() => rig.envelopeState('a') === 'failed', 'envelope failed', WAIT);
  const expected = structuredClone(envelopeBefore);
  expected.thread.metadata.instance.state = 'failed';
  assert.deepEqual(rig.emu.control.getObject(rig.ref, 'a')!.value, expected);

  // The activity item on the worker thread.
  const failed = await waitFor(() => activity(rig, 'thread_failed', 'a')[0], 'thread_failed activity item', WAIT);
  assert.deepEqual(failed.error, { code: 'THREAD_POST_FAILED', message: error.message });

  // The agent is stopped; the slot is free; the snapshot shows the error.
  await waitFor(() => !isPidAlive(pidA), 'agent of a gone', WAIT);
  await waitSnapshot(
    host,
    (s) => threadOf(s, 'a')?.state === 'failed' && s.agents.busy === 1,
    'snapshot: a failed, one slot busy',
  );
  const view = threadOf(host.snapshot(), 'a')!;
  assert.equal(view.last_error?.code, 'THREAD_POST_FAILED');
  assert.equal(view.last_error?.message, error.message);
  assert.ok(view.last_error?.remediation);
  assert.ok(
    host.snapshot().recent_errors.some((e) => e.code === 'API_COMMAND_FAILED' && e.thread === 'a'),
    'the retries reached the ribbon',
  );

  // thread.log keeps the refused payload.
  const threadLog = await jsonLines(rig.paths.job(rig.ref.session_id).threadLog('a'));
  const rejected = threadLog.filter((l) => l.event === 'outbox_item_rejected');
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].code, 'THREAD_POST_FAILED');

  // The other thread keeps working, on the same agent.
  assert.ok(isPidAlive(pidB));
  rig.say('b', 'b-two');
  await waitFor(() => agentTexts(rig, 'b').includes('Hello! You said: b-two'), 'b answered after a failed', WAIT);
  assert.equal(rig.envelopeState('b'), 'active');
  assert.equal((await argvs(rig, otherFolder)).length, 1);
  assert.equal(threadOf(host.snapshot(), 'b')?.last_error, null);

  // A failed thread takes no more input and posts nothing.
  rig.say('a', 'while failed');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal((await argvs(rig, rig.workFolder)).length, 1, 'no agent started for a');
  assert.equal(
    rig.items('a').filter((i) => i.user_id === rig.worker.user_id).length,
    before.filter((i) => i.user_id === rig.worker.user_id).length,
  );
  assertNoDuplicates(rig, 'a');
  assertNoDuplicates(rig, 'b');
  assertNoDuplicates(rig, 'worker');
});

test('continuous 5xx for longer than the retry window fails the thread with THREAD_POST_FAILED', async (t) => {
  assert.equal(
    DEFAULT_THREAD_TIMING.postRetryWindowMs,
    10 * 60 * 1000,
    'protocol §11: 10 minutes unless a test shortens it',
  );
  const windowMs = 2_500;
  const rig = await makeRig(t, { realtime: true });
  const { host, before, pidA, pidB } = await startTwo(rig, { postRetryWindowMs: windowMs });

  rig.emu.control.addFault({ command: POST, alias: 'a', kind: 'status', status: 503 });
  const started = Date.now();
  const secondId = rig.say('a', 'second');
  const error = await waitFailed(rig, 'a', windowMs + 10_000);
  const took = Date.now() - started;
  assert.equal(error.code, 'THREAD_POST_FAILED');
  assert.match(error.message, /still failed after \d+ s of retries/);
  assert.match(error.message, /HTTP 503/);
  assert.ok(took >= windowMs, `not before the window ends (${took} ms)`);

  await waitFor(() => rig.envelopeState('a') === 'failed', 'envelope failed', WAIT);
  await waitFor(() => !isPidAlive(pidA), 'agent of a gone', WAIT);
  await waitSnapshot(
    host,
    (s) => threadOf(s, 'a')?.last_error?.code === 'THREAD_POST_FAILED',
    'snapshot shows the error',
  );
  const failed = await waitFor(() => activity(rig, 'thread_failed', 'a')[0], 'thread_failed activity item', WAIT);
  assert.deepEqual(failed.error, { code: 'THREAD_POST_FAILED', message: error.message });
  const retries = await retriesOf(rig, 'a');
  assert.ok(
    retries.length >= 2 && retries.every((l) => l.code === 'API_TRANSIENT_ERROR'),
    'retried as transient until the window closed',
  );

  rig.emu.control.clearFaults();
  assert.deepEqual(
    rig.items('a').map((i) => i.id),
    [...before.map((i) => i.id), secondId],
    'a 5xx stored nothing; nothing reposted',
  );
  assert.ok(isPidAlive(pidB));
  rig.say('b', 'b-two');
  await waitFor(() => agentTexts(rig, 'b').includes('Hello! You said: b-two'), 'b still answers', WAIT);
  assertNoDuplicates(rig, 'a');
  assertNoDuplicates(rig, 'worker');
});

test('5xx for less than the retry window recovers: every item stored once, in order, and the thread stays active', async (t) => {
  const windowMs = 4_000;
  const outageMs = 2_000;
  const rig = await makeRig(t, { realtime: true });
  const { host, before, pidA } = await startTwo(rig, { postRetryWindowMs: windowMs });

  // The first post is stored but its answer is lost (ambiguous, like a 5xx after the write); every later one
  // gets a 503 until the outage ends.
  rig.emu.control.addFault({ command: POST, alias: 'a', kind: 'drop_after', times: 1 });
  rig.emu.control.addFault({ command: POST, alias: 'a', kind: 'status', status: 503 });
  const started = Date.now();
  const secondId = rig.say('a', 'second');
  // The turn's items queue up behind the one that is failing.
  await waitFor(
    async () => (await retriesOf(rig, 'a')).length > 0 && threadOf(host.snapshot(), 'a')?.state === 'active_idle',
    'the turn ended while its items are failing',
    WAIT,
  );
  // An outage of half the window (the other half is margin for slow machines), then the server is fine again.
  await new Promise((r) => setTimeout(r, outageMs - (Date.now() - started)));
  assert.deepEqual(
    rig.items('a').slice(before.length).map(kindOf),
    ['human', 'thinking'],
    'only the dropped-answer post got through',
  );
  rig.emu.control.clearFaults();

  await waitFor(() => rig.kinds('a').length >= before.length + 4, 'the turn posted after the outage', WAIT);
  await new Promise((r) => setTimeout(r, 300));
  const after = rig.items('a');
  assert.deepEqual(
    after.slice(0, before.length + 1).map((i) => i.id),
    [...before.map((i) => i.id), secondId],
  );
  assert.deepEqual(after.slice(before.length + 1).map(kindOf), ['thinking', 'text', 'turn_end'], 'in emission order');
  assert.equal(after.at(-2)!.content[0].text, 'Hello! You said: second');
  assertNoDuplicates(rig, 'a');

  // The thread never failed, and nothing is posted again.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(rig.kinds('a').length, before.length + 4, 'stored once');
  assert.equal((await rig.threadYaml('a'))?.agent.state, 'active');
  assert.equal((await rig.threadYaml('a'))?.agent.error.code, null);
  assert.equal(rig.envelopeState('a'), 'active');
  assert.deepEqual(activity(rig, 'thread_failed', 'a'), []);
  assert.ok(isPidAlive(pidA));
  const retries = await retriesOf(rig, 'a');
  assert.ok(retries.length >= 2, `it did retry (${retries.length})`);
  rig.say('a', 'third');
  await waitFor(() => agentTexts(rig, 'a').includes('Hello! You said: third'), 'a answers the next turn', WAIT);
});

test('after THREAD_POST_FAILED a reset to pending resumes the thread: a placeholder for the refused item, then the unposted items, once, in order', async (t) => {
  const rig = await makeRig(t, { realtime: true });
  const { host, before, pidA } = await startTwo(rig);
  const sessionId = (await rig.threadYaml('a'))?.agent.agent_session_id;
  assert.ok(sessionId);

  rig.emu.control.addFault({ command: POST, alias: 'a', kind: 'client_error', times: 3 });
  const secondId = rig.say('a', 'second');
  await waitFailed(rig, 'a');
  await waitFor(() => rig.envelopeState('a') === 'failed', 'envelope failed', WAIT);
  await waitFor(() => !isPidAlive(pidA), 'agent of a gone', WAIT);
  await waitFor(() => activity(rig, 'thread_failed', 'a').length === 1, 'thread_failed posted', WAIT);

  // What never got posted is still journaled: the second turn's thinking, text and turn_end; the thinking,
  // refused three times, is marked refused (code and message, never its content).
  const journal = await jsonLines(rig.paths.job(rig.ref.session_id).threadOutbox('a'));
  const unposted = journal
    .filter((l) => l.op === 'emit')
    .map((l) => l as { id: string; item: { metadata: { type: string } } });
  assert.deepEqual(
    unposted.map((l) => l.item.metadata.type),
    ['thinking', 'text', 'turn_end'],
  );
  const refused = journal.filter((l) => l.op === 'refused');
  assert.deepEqual(
    refused.map((l) => [l.id, l.code]),
    [[unposted[0].id, 'THREAD_POST_FAILED']],
  );
  assert.match(String(refused[0].message), /HTTP 400 invalid_request/);
  assert.deepEqual(
    rig.items('a').map((i) => i.id),
    [...before.map((i) => i.id), secondId],
  );

  // The human resets the thread through the emulator's control API (the fault is spent: posting works again).
  rig.setState('a', 'pending');
  await waitFor(() => rig.envelopeState('a') === 'active', 'active again', WAIT);
  await waitFor(() => activity(rig, 'thread_activated', 'a').length === 2, 'second thread_activated', WAIT);
  await waitFor(() => rig.items('a').length >= before.length + 4, 'the unposted items are posted', WAIT);
  await new Promise((r) => setTimeout(r, 300));

  // Exactly the journaled emissions, in their order, right after the item that caused them; nothing earlier
  // repeated. The refused thinking is not sent again: its placeholder stands in its place, under its emission_id.
  const after = rig.items('a');
  assert.deepEqual(
    after.slice(0, before.length + 1).map((i) => i.id),
    [...before.map((i) => i.id), secondId],
  );
  assert.deepEqual(
    after.slice(before.length + 1).map(emissionOf),
    unposted.map((l) => l.id),
  );
  assert.deepEqual(after.slice(before.length + 1).map(kindOf), ['status', 'text', 'turn_end']);
  const placeholder = after[before.length + 1];
  assert.equal(placeholder.metadata?.status, 'item_refused');
  assert.deepEqual(placeholder.metadata?.detail, {
    code: 'THREAD_POST_FAILED',
    message: refused[0].message,
    kind: 'thinking',
  });
  assert.match(
    placeholder.content[0].text!,
    /^An item could not be posted \(THREAD_POST_FAILED: .*HTTP 400.*\); its full content is in thread\.log\.$/,
  );
  assert.equal(after.at(-2)!.content[0].text, 'Hello! You said: second');

  // The same agent session is resumed; the turn that already ran is not run again.
  const runs = await argvs(rig, rig.workFolder);
  assert.equal(runs.length, 2);
  assert.equal(runs[1][runs[1].indexOf('--resume') + 1], sessionId);
  const y = await rig.threadYaml('a');
  assert.equal(y?.agent.state, 'active');
  assert.deepEqual(y?.agent.error, { code: null, message: null, at: null });
  await waitSnapshot(
    host,
    (s) => threadOf(s, 'a')?.state === 'active_idle' && threadOf(s, 'a')?.last_error === null,
    'snapshot: active, no error',
  );

  // And it goes on normally.
  rig.say('a', 'third');
  await waitFor(() => agentTexts(rig, 'a').includes('Hello! You said: third'), 'a answers after the reset', WAIT);
  await waitFor(() => rig.kinds('a').at(-1) === 'turn_end', 'third turn posted', WAIT);
  assert.deepEqual(await turnsIn(rig, rig.workFolder), ['first', 'second', 'third']);
  assert.deepEqual(agentTexts(rig, 'a'), [
    'Hello! You said: first',
    'Hello! You said: second',
    'Hello! You said: third',
  ]);
  assertNoDuplicates(rig, 'a');
  assertNoDuplicates(rig, 'worker');
  assert.equal(
    (await jsonLines(rig.paths.job(rig.ref.session_id).threadOutbox('a'))).filter((l) => l.op === 'emit').length,
    0,
    'journal emptied',
  );
});
