/** The vertical slice: attach → handoff → the agent's text is posted → a human reply reaches the agent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot } from './support';

for (const realtime of [true, false]) {
  test(`handoff runs the agent and a human reply reaches it (realtime ${realtime ? 'on' : 'off: reconcile only'})`, async (t) => {
    const rig = await makeRig(t, { realtime });
    const host = rig.host();
    rig.chat('job');
    rig.say('job', 'hello before handoff');
    rig.handoff('job');
    await host.start();
    assert.equal(host.snapshot().phase, 'running');

    await waitFor(() => rig.kinds('worker').includes('section_attached'), 'section_attached');
    await waitFor(() => agentTexts(rig, 'job').some((x) => x.includes('hello before handoff')), 'first turn answered');
    assert.equal(rig.envelopeState('job'), 'active');
    // The worker thread has its own outbox: its items are not ordered with the job thread's.
    await waitFor(() => rig.kinds('worker').includes('thread_activated'), 'thread_activated posted');
    const section = await rig.sectionYaml();
    assert.equal(section?.attachment.status, 'attached');

    rig.say('job', 'second message');
    await waitFor(() => agentTexts(rig, 'job').some((x) => x.includes('second message')), 'reply reached the agent');
    assert.deepEqual(await rig.turnsReceived(), ['hello before handoff', 'second message']);
    await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'active_idle', 'active_idle');
    const local = await rig.threadYaml('job');
    assert.equal(local?.agent.state, 'active');
    assert.ok(local?.agent.agent_session_id);
    assert.ok(local?.cursors.inbound, 'inbound cursor recorded after the turn ended');
    if (realtime) assert.equal(host.snapshot().sections[0]?.realtime, 'connected');
    else assert.equal(host.snapshot().sections[0]?.realtime, 'off');
    // section.log: JSON lines about poll cadence, event dispatch and thread discovery (docs/harness.md).
    const sectionLog = (await readFile(rig.paths.job(rig.ref.session_id).sectionLog, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const logged = new Set(sectionLog.map((r) => r.event));
    assert.ok(logged.has('thread_discovered') && logged.has('poll_cadence'), [...logged].join(','));
    const modes = sectionLog.filter((r) => r.event === 'poll_cadence').map((r) => r.mode);
    assert.ok(modes.includes(realtime ? 'realtime' : 'active'), modes.join(','));
    if (realtime) assert.ok(logged.has('event_dispatched'));
    await host.stop();
    assert.equal(host.snapshot().phase, 'stopped');
    // protocol §12: cursors.outbound names the newest item the server confirmed.
    const posted = rig.items('job').filter((i) => i.user_id === rig.worker.user_id);
    const newest = posted[posted.length - 1];
    assert.deepEqual((await rig.threadYaml('job'))?.cursors.outbound, {
      last_emission_id: newest.metadata?.emission_id,
      last_item_id: newest.id,
    });
  });
}

test('a codex thread runs through the same bridge', async (t) => {
  const rig = await makeRig(t);
  rig.chat('job');
  rig.say('job', 'hello codex');
  rig.handoff('job', { agent: { type: 'codex' } });
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.kinds('job').includes('turn_end'), 'codex turn ended', { timeoutMs: 15_000 });
  assert.ok(agentTexts(rig, 'job').length > 0, 'codex text posted');
  const local = await rig.threadYaml('job');
  assert.equal(local?.workspace.agent_type, 'codex');
  assert.ok(local?.agent.agent_session_id, 'codex thread id recorded');
  // Posted through the worker thread's own outbox, so not ordered with the job thread's items.
  const activated = await waitFor(
    () => rig.items('worker').find((i) => i.metadata?.type === 'thread_activated'),
    'thread_activated posted',
  );
  assert.equal(activated.metadata?.agent_session_id, local?.agent.agent_session_id);
});
