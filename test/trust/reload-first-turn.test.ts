/**
 * A reload (or graceful stop) of a thread whose agent has not had a turn yet (handed off with no message): the
 * agent never wrote a session, so resuming it after the restart fails ("No conversation found"). Nothing can be
 * lost by starting fresh — no turn ever ended — so the thread starts a fresh session (status
 * `resume_failed_started_fresh`) instead of failing with AGENT_CRASHED. Found by the soak (bench/soak.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot } from '../harness/support';

test('a thread reloaded before its first turn starts a fresh session instead of failing', async (t) => {
  const rig = await makeRig(t);
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'active_idle', 'agent running, no turn yet');
  await host.reloadConfig();
  await waitFor(
    () => rig.kinds('job').includes('status') || rig.kinds('worker').includes('thread_failed'),
    'resumed fresh or failed',
    { timeoutMs: 20_000 },
  );
  assert.deepEqual(
    rig
      .items('worker')
      .filter((i) => i.metadata?.type === 'thread_failed')
      .map((i) => i.metadata?.error),
    [],
    'the thread did not fail',
  );
  const status = rig.items('job').find((i) => i.metadata?.type === 'status');
  assert.equal(status?.metadata?.status, 'resume_failed_started_fresh');
  rig.say('job', 'hi');
  await waitFor(() => agentTexts(rig, 'job').length > 0, 'answered after the reload', { timeoutMs: 20_000 });
  assert.equal(rig.envelopeState('job'), 'active');
});
