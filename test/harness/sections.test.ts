/**
 * Section-level codes (protocol §5): a refused section records its code in section.yaml and stops while the
 * others keep working; re-attach keeps every other key of the worker object; deleting the worker object while
 * attached stops the section's agents (SESSION_DETACHED_EXTERNALLY) without re-attaching by itself; the desktop's
 * Re-attach and Detach.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot } from './support';
import { isPidAlive } from '../../main/core/state/lock';

test('refused sections (different user, malformed, not found) stop while another section keeps working', async (t) => {
  const rig = await makeRig(t, { sections: 3, realtime: true });
  const [good, owned, malformed, missing] = rig.sessions as [
    typeof rig.ref,
    typeof rig.ref,
    typeof rig.ref,
    typeof rig.ref,
  ];
  const other = rig.emu.control.createUser({ name: 'Other', email: 'other@example.test' });
  rig.emu.control.grantAccess(owned, other.user_id);
  const foreign = {
    type: 'thread',
    thread: { metadata: { user: { user_id: other.user_id }, instance: { status: 'attached' } } },
  };
  rig.emu.control.uploadObject(other.user_id, owned, 'worker', foreign);
  rig.emu.control.uploadObject(rig.human.user_id, malformed, 'worker', { type: 'message', content: [] });
  rig.emu.control.revokeAccess(missing, rig.worker.user_id);
  // Our own earlier worker object with extra keys: re-attach rewrites metadata.instance only.
  rig.emu.control.uploadObject(rig.worker.user_id, good, 'worker', {
    type: 'thread',
    thread: {
      attributes: { name: 'worker', description: 'kept' },
      metadata: {
        user: { user_id: rig.worker.user_id },
        instance: { instance_id: 'ins_old', status: 'attached' },
        custom: { keep: 1 },
      },
    },
  });
  rig.handoff('job', {}, good);
  rig.handoff('job', {}, owned);

  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job', good) === 'active', 'the good section runs its thread');
  const expected: Array<[typeof rig.ref, string]> = [
    [owned, 'SESSION_OWNED_BY_DIFFERENT_USER'],
    [malformed, 'SECTION_WORKER_OBJECT_MALFORMED'],
    [missing, 'SESSION_NOT_FOUND'],
  ];
  for (const [ref, code] of expected) {
    await waitFor(async () => (await rig.sectionYaml(ref))?.attachment.status === 'refused', `${code} recorded`);
    const file = await rig.sectionYaml(ref);
    assert.equal(file?.attachment.error.code, code);
    assert.ok(file?.attachment.error.message);
  }
  const snap = host.snapshot();
  assert.deepEqual(
    snap.sections.map((s) => [s.attachment, s.error?.code ?? null]),
    [
      ['attached', null],
      ['refused', 'SESSION_OWNED_BY_DIFFERENT_USER'],
      ['refused', 'SECTION_WORKER_OBJECT_MALFORMED'],
      ['refused', 'SESSION_NOT_FOUND'],
    ],
  );
  // Refused sections touched nothing: the foreign and malformed objects are as they were, the thread stays pending.
  assert.deepEqual(rig.emu.control.getObject(owned, 'worker')?.value, foreign);
  assert.equal(rig.emu.control.getObject(malformed, 'worker')?.value.type, 'message');
  assert.equal(rig.envelopeState('job', owned), 'pending');
  assert.equal(rig.items('worker', owned).length, 0);

  const mine = rig.emu.control.getObject(good, 'worker')!.value as unknown as {
    thread: { attributes: unknown; metadata: Record<string, unknown> };
  };
  assert.deepEqual(mine.thread.attributes, { name: 'worker', description: 'kept' });
  assert.deepEqual(mine.thread.metadata.custom, { keep: 1 });
  const instance = mine.thread.metadata.instance as Record<string, unknown>;
  assert.equal(instance.instance_id, snap.instance_id);
  assert.equal(instance.status, 'attached');
  assert.ok(instance.last_seen_at && instance.started_at && instance.version);
  assert.equal((await rig.sectionYaml(good))?.attachment.status, 'attached');
});

test('worker object deleted while attached: SESSION_DETACHED_EXTERNALLY, agents stopped, no self re-attach; Re-attach resumes; Detach frees', async (t) => {
  const rig = await makeRig(t, { sections: 1 });
  const [first, second] = rig.sessions as [typeof rig.ref, typeof rig.ref];
  rig.chat('job', first);
  rig.say('job', 'hello', first);
  rig.handoff('job', {}, first);
  rig.handoff('other', {}, second);
  const host = rig.host();
  await host.start();
  await waitFor(() => agentTexts(rig, 'job', first).length > 0, 'agent answered');
  await waitFor(() => rig.envelopeState('other', second) === 'active', 'second section active');
  const pids = (await rig.records()).filter((r) => r.kind === 'argv' && r.cwd).map((r) => r.pid as number);
  assert.equal(pids.length, 2);

  rig.emu.control.deleteObject(first, 'worker');
  await waitFor(async () => (await rig.sectionYaml(first))?.attachment.status === 'detached', 'detached (reconcile)');
  assert.equal((await rig.sectionYaml(first))?.attachment.error.code, 'SESSION_DETACHED_EXTERNALLY');
  await waitSnapshot(
    host,
    (s) => s.sections[0]?.error?.code === 'SESSION_DETACHED_EXTERNALLY' && s.agents.busy === 1,
    'snapshot',
  );
  const stillAlive = pids.filter(isPidAlive);
  assert.equal(stillAlive.length, 1, 'the detached section stopped its agent; the other section kept its own');
  assert.equal(rig.envelopeState('job', first), 'active', 'thread envelopes are left as they are');
  await new Promise((r) => setTimeout(r, 500)); // several poll rounds: no self re-attach
  assert.equal(rig.emu.control.getObject(first, 'worker'), null);
  assert.equal(threadOf(host.snapshot(), 'other', 1)?.state, 'active_idle');

  // Re-attach (the desktop's button): the worker object is recreated and the thread resumes its session.
  const sessionId = (await rig.threadYaml('job', first))?.agent.agent_session_id;
  await host.reattachSection(host.snapshot().sections[0].id);
  await waitFor(async () => (await rig.sectionYaml(first))?.attachment.status === 'attached', 're-attached');
  await waitFor(async () => (await rig.records()).filter((r) => r.kind === 'argv').length === 3, 'agent resumed');
  const argv = (await rig.records()).filter((r) => r.kind === 'argv').at(-1)!.argv as string[];
  assert.equal(argv[argv.indexOf('--resume') + 1], sessionId);
  rig.say('job', 'after re-attach', first);
  await waitFor(
    () => agentTexts(rig, 'job', first).some((x) => x.includes('after re-attach')),
    'reply after re-attach',
  );

  // Detach (the desktop's button): agents stop, the worker object is deleted, the section is detached without error.
  await host.detachSection(host.snapshot().sections[0].id);
  assert.equal(rig.emu.control.getObject(first, 'worker'), null);
  const file = await rig.sectionYaml(first);
  assert.equal(file?.attachment.status, 'detached');
  assert.equal(file?.attachment.error.code, null);
  await waitSnapshot(host, (s) => s.agents.busy === 1 && s.sections[0]?.attachment === 'detached', 'detached snapshot');
});
