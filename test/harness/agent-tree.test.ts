/**
 * The whole process tree of an agent is gone after every way a thread's agent ends (docs/agents.md,
 * "Supervision"): thread completed, reset and run again, an agent crash, and the worker quitting. The fake
 * agent starts a long-lived grandchild in a session of its own (setsid), which a process-group kill misses.
 * The forced quit runs the built CLI (`npm run build` first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot, type Rig } from './support';
import { processLive } from '../../main/core/agents/process';
import { startWorker } from '../reliability/support';

async function grandchildren(rig: Rig): Promise<number[]> {
  return (await rig.records()).filter((r) => r.kind === 'grandchild_ready').map((r) => r.pid as number);
}

async function agentPids(rig: Rig): Promise<number[]> {
  return (await rig.records()).filter((r) => r.kind === 'argv').map((r) => r.pid as number);
}

/** Waits for the n-th grandchild (1-based) and returns its pid. */
async function nthGrandchild(rig: Rig, n: number): Promise<number> {
  let pids: number[] = [];
  await waitFor(
    async () => {
      pids = await grandchildren(rig);
      return pids.length >= n;
    },
    `grandchild #${n} ready`,
    { timeoutMs: 20_000 },
  );
  return pids[n - 1];
}

const gone = (pid: number, what: string): Promise<unknown> =>
  waitFor(() => !processLive(pid), what, { timeoutMs: 10_000 });

test('no process of the agent tree survives completed, reset, a crash or the worker quitting', async (t) => {
  const rig = await makeRig(t, { scenario: { grandchild: { newSession: true } } });
  const leftovers: number[] = [];
  t.after(() => {
    for (const pid of leftovers) if (processLive(pid)) process.kill(pid, 'SIGKILL');
  });
  rig.chat('job');
  rig.say('job', 'hi');
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => agentTexts(rig, 'job').length > 0, 'agent answered', { timeoutMs: 20_000 });

  // 1. completed
  const first = await nthGrandchild(rig, 1);
  leftovers.push(first);
  assert.ok(processLive(first));
  rig.setState('job', 'completed');
  await gone(first, 'grandchild gone after completed');

  // 2. reset (completed → pending): a new agent with a new grandchild; then the agent crashes.
  const sectionId = host.snapshot().sections[0].id;
  await waitFor(
    () =>
      rig.items('worker').some((i) => {
        const m = i.metadata as { type?: string; alias?: string; reason?: string } | undefined;
        return m?.type === 'thread_stopped' && m.alias === 'job' && m.reason === 'thread_completed';
      }),
    'thread_stopped (thread_completed) posted',
    { timeoutMs: 20_000 },
  );
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'completed', 'thread completed');
  assert.equal(rig.envelopeState('job'), 'completed');
  await host.resetThread(sectionId, 'job');
  const second = await nthGrandchild(rig, 2);
  leftovers.push(second);
  const [, agent2] = await waitFor(
    async () => {
      const pids = await agentPids(rig);
      return pids.length >= 2 ? pids : undefined;
    },
    'second agent',
    { timeoutMs: 20_000 },
  );
  assert.ok(processLive(second));
  process.kill(agent2, 'SIGKILL');
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'failed', 'thread failed with AGENT_CRASHED');
  assert.equal(threadOf(host.snapshot(), 'job')?.last_error?.code, 'AGENT_CRASHED');
  await gone(second, 'grandchild gone after the crash');

  // 3. reset (failed → pending), then the worker quits.
  await host.resetThread(sectionId, 'job');
  const third = await nthGrandchild(rig, 3);
  leftovers.push(third);
  assert.ok(processLive(third));
  await host.stop();
  await gone(third, 'grandchild gone after the worker quit');
  for (const pid of await agentPids(rig)) assert.ok(!processLive(pid), `agent ${pid} gone`);
});

test('the CLI forced to quit (a second signal while it stops) leaves no agent process behind', async (t) => {
  const rig = await makeRig(t, {
    scenario: { grandchild: { newSession: true }, default: { steps: [{ text: 'busy' }, { sleep: 60_000 }] } },
  });
  const leftovers: number[] = [];
  t.after(() => {
    for (const pid of leftovers) if (processLive(pid)) process.kill(pid, 'SIGKILL');
  });
  rig.chat('job');
  rig.say('job', 'work for a minute');
  rig.handoff('job');
  const w = startWorker(rig.home, rig.env);
  t.after(() => w.kill());
  await waitFor(() => agentTexts(rig, 'job').includes('busy'), 'the turn is running', { timeoutMs: 30_000 });
  const grandchild = await nthGrandchild(rig, 1);
  const [agent] = await agentPids(rig);
  leftovers.push(grandchild, agent);
  assert.ok(processLive(grandchild) && processLive(agent));
  // SIGTERM starts the graceful stop (it waits for the turn); the second signal forces the exit at once.
  w.child.kill('SIGTERM');
  await w.waitLog((l) => l.event === 'stopping', 'graceful stop begun');
  w.child.kill('SIGINT');
  const exit = await w.stop(20_000);
  assert.equal(exit.status, 130, w.stderr().slice(-2000));
  await gone(agent, 'agent gone after the forced quit');
  await gone(grandchild, 'grandchild gone after the forced quit');
});
