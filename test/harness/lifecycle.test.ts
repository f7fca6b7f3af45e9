/**
 * The live state machine: `completed` and deletion stop the agent (no process left), the global slot pool
 * runs threads one after the other, items posted during a turn become one next turn, and the worker's own
 * user never reaches the agent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot, type Rig } from './support';
import { isPidAlive } from '../../main/core/state/lock';

/** Pids of the fake agent processes started so far (from their argv records). */
async function agentPids(rig: Rig): Promise<number[]> {
  return (await rig.records()).filter((r) => r.kind === 'argv').map((r) => r.pid as number);
}

function stoppedReasons(rig: Rig): Array<[string, string]> {
  return rig
    .items('worker')
    .map((i) => i.metadata as { type?: string; alias?: string; reason?: string } | undefined)
    .filter((m) => m?.type === 'thread_stopped')
    .map((m) => [m!.alias!, m!.reason!]);
}

test('completed stops the agent (no process left), posts thread_stopped, keeps the envelope completed', async (t) => {
  const rig = await makeRig(t);
  rig.chat('job');
  rig.say('job', 'hi');
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => agentTexts(rig, 'job').length > 0, 'agent answered');
  const [pid] = await agentPids(rig);
  assert.ok(pid && isPidAlive(pid));

  rig.setState('job', 'completed');
  await waitFor(() => stoppedReasons(rig).some(([a, r]) => a === 'job' && r === 'thread_completed'), 'thread_stopped');
  await waitFor(() => !isPidAlive(pid), 'agent process gone');
  assert.equal(rig.envelopeState('job'), 'completed', 'the worker never rewrites completed');
  assert.equal((await rig.threadYaml('job'))?.agent.state, 'completed');
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'completed' && s.agents.busy === 0, 'slot released');

  // completed → pending runs it again, resuming the same agent session.
  const sessionId = (await rig.threadYaml('job'))?.agent.agent_session_id;
  rig.setState('job', 'pending');
  await waitFor(() => rig.envelopeState('job') === 'active', 'active again');
  const argv = (await rig.records()).filter((r) => r.kind === 'argv').map((r) => r.argv as string[]);
  assert.equal(argv.length, 2);
  assert.deepEqual(argv[1].slice(argv[1].indexOf('--resume'), argv[1].indexOf('--resume') + 2), [
    '--resume',
    sessionId,
  ]);
});

test('deleting the envelope stops the agent with reason thread_deleted; the local folder stays', async (t) => {
  const rig = await makeRig(t);
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  await waitFor(async () => (await agentPids(rig)).length === 1, 'agent started');
  const [pid] = await agentPids(rig);
  rig.emu.control.deleteObject(rig.ref, 'job');
  await waitFor(() => stoppedReasons(rig).some(([a, r]) => a === 'job' && r === 'thread_deleted'), 'thread_stopped');
  await waitFor(() => !isPidAlive(pid), 'agent process gone');
  assert.ok(existsSync(rig.paths.job(rig.ref.session_id).threadYaml('job')), 'local folder kept');
  await waitSnapshot(host, (s) => s.agents.busy === 0, 'slot released');
});

test('max_agents 1: a second pending thread waits (nothing written) and runs once the first releases its slot', async (t) => {
  const rig = await makeRig(t, { maxAgents: 1 });
  rig.handoff('first');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('first') === 'active', 'first active');
  rig.handoff('second');
  await waitSnapshot(host, (s) => threadOf(s, 'second')?.state === 'pending', 'second seen as pending');
  await new Promise((r) => setTimeout(r, 600)); // several reconcile rounds
  assert.equal(rig.envelopeState('second'), 'pending');
  assert.equal(await rig.threadYaml('second'), null, 'no thread.yaml for a thread without a slot');
  assert.deepEqual(host.snapshot().agents, { busy: 1, max: 1 });

  rig.setState('first', 'completed');
  await waitFor(() => rig.envelopeState('second') === 'active', 'second active after the slot frees');
  assert.equal((await agentPids(rig)).length, 2);
  assert.deepEqual(host.snapshot().agents, { busy: 1, max: 1 });
});

test('three human items posted during a turn become ONE next turn; the worker user never reaches the agent', async (t) => {
  const rig = await makeRig(t, {
    realtime: true,
    scenario: { turns: [{ steps: [{ sleep: 1200 }, { text: 'first turn done' }] }] },
  });
  rig.chat('job');
  rig.say('job', 'start');
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(async () => (await rig.turnsReceived()).length === 1, 'first turn running');
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'active_turn', 'active_turn');
  rig.say('job', 'one');
  rig.emu.control.postItem(rig.worker.user_id, rig.ref, 'job', [{ type: 'text', text: 'posted as the worker user' }]);
  rig.say('job', 'two');
  rig.say('job', 'three');
  await waitFor(() => agentTexts(rig, 'job').some((x) => x.includes('one')), 'second turn answered', {
    timeoutMs: 8000,
  });
  await new Promise((r) => setTimeout(r, 300));
  const turns = await rig.turnsReceived();
  assert.deepEqual(turns, ['start', 'one\n\ntwo\n\nthree']);
  assert.ok(!turns.join().includes('posted as the worker user'));
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'active_idle', 'active_idle');
  // The cursor write follows the turn end asynchronously (the snapshot may say idle a moment before it lands).
  const ids = rig.items('job').map((i) => i.id);
  const three = ids.indexOf(rig.items('job').find((i) => i.content[0]?.text === 'three')!.id);
  await waitFor(
    async () => {
      const cursor = (await rig.threadYaml('job'))?.cursors.inbound;
      return !!cursor && ids.indexOf(cursor.item_id) >= three;
    },
    'inbound cursor at or past "three"',
    { timeoutMs: 8000 },
  );
});

test('a stale resume pointer on a new handoff starts a fresh session and says so with resume_failed_started_fresh', async (t) => {
  const rig = await makeRig(t);
  rig.handoff('job');
  const first = rig.host();
  await first.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  await first.stop();
  // The agent's own session store lost the session (e.g. a different machine): the resume will fail.
  const file = rig.paths.job(rig.ref.session_id).threadYaml('job');
  const stale = '00000000-0000-4000-8000-000000000000';
  await writeFile(file, (await readFile(file, 'utf8')).replace(/agent_session_id: .*/, `agent_session_id: ${stale}`));
  rig.setState('job', 'pending');

  const second = rig.host();
  await second.start();
  await waitFor(
    () =>
      rig
        .items('job')
        .some((i) => (i.metadata as { status?: string } | undefined)?.status === 'resume_failed_started_fresh'),
    'status item',
  );
  await waitFor(() => rig.envelopeState('job') === 'active', 'active again');
  const argv = (await rig.records()).filter((r) => r.kind === 'argv').map((r) => r.argv as string[]);
  assert.equal(argv[1][argv[1].indexOf('--resume') + 1], stale);
  assert.ok(argv[2].includes('--session-id'), 'then a fresh session');
  const fresh = (await rig.threadYaml('job'))?.agent.agent_session_id;
  assert.ok(fresh && fresh !== stale);
  assert.equal(argv[2][argv[2].indexOf('--session-id') + 1], fresh);
});
