/**
 * Recovery (protocol §6.5) through the real CLI: `blobhub-worker start` is killed with SIGKILL during a turn
 * whose approval prompt is open; the next start cancels the prompt (worker_restart), resumes the same agent
 * session (`--resume <id>` in the fake's argv), replays the cut-short turn so the agent re-asks, and nothing is
 * duplicated or lost. Then SIGTERM stops it cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRig, waitFor, type Rig } from './support';
import { runCli, spawnCli, waitExit } from '../support/process';

const SCENARIO = {
  markers: {
    'approve-me': { steps: [{ tool: { name: 'Bash', input: { command: 'make deploy' } } }, { text: 'deployed' }] },
  },
};

type Item = ReturnType<Rig['items']>[number];
const meta = (i: Item): Record<string, unknown> => i.metadata ?? {};
const ofType = (rig: Rig, type: string): Item[] => rig.items('job').filter((i) => meta(i).type === type);

function startWorker(rig: Rig): { child: ReturnType<typeof spawnCli>; stderr: () => string } {
  const child = spawnCli(['start'], { home: rig.home, env: rig.env });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  return { child, stderr: () => stderr };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

test('kill -9 during a turn with an open prompt, then restart: prompt cancelled, session resumed, turn replayed, nothing duplicated', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  const agentPids = async (): Promise<number[]> =>
    (await rig.records()).filter((r) => r.kind === 'argv').map((r) => r.pid as number);
  t.after(async () => {
    for (const pid of await agentPids()) killGroup(pid);
  });
  rig.chat('job');
  rig.say('job', 'hello');
  rig.handoff('job');

  const first = startWorker(rig);
  t.after(() => void first.child.kill('SIGKILL'));
  await waitFor(() => ofType(rig, 'turn_end').length === 1, 'first turn done', { timeoutMs: 15_000 });
  const sessionId = (await rig.threadYaml('job'))?.agent.agent_session_id;
  assert.ok(sessionId);

  // While it runs, `status` shows the live snapshot the worker publishes.
  await waitFor(() => existsSync(join(rig.home, 'snapshot.json')), 'snapshot.json');
  const status = await runCli(['status', '--json'], { home: rig.home });
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /"job"/);

  rig.say('job', 'approve-me now');
  await waitFor(() => ofType(rig, 'pending_prompt').length === 1, 'prompt posted');
  const promptId = (meta(ofType(rig, 'pending_prompt')[0]).prompt as { id: string }).id;
  await waitFor(async () => (await rig.threadYaml('job'))?.open_prompt?.id === promptId, 'open prompt recorded');

  first.child.kill('SIGKILL');
  await waitExit(first.child);
  // The agent outlives a SIGKILLed worker (own process group); it dies with its stdin in real life.
  for (const pid of await agentPids()) killGroup(pid);
  assert.ok(existsSync(join(rig.home, 'instance.yaml')), 'a SIGKILL leaves the lock behind');

  const second = startWorker(rig);
  t.after(() => void second.child.kill('SIGKILL'));
  await waitFor(() => ofType(rig, 'pending_prompt_resolved').length >= 1, 'stale prompt cancelled', {
    timeoutMs: 15_000,
  });
  const cancelled = meta(ofType(rig, 'pending_prompt_resolved')[0]);
  assert.deepEqual(
    { prompt_id: cancelled.prompt_id, resolution: cancelled.resolution, reason: cancelled.reason },
    { prompt_id: promptId, resolution: 'cancelled', reason: 'worker_restart' },
  );
  await waitFor(async () => (await agentPids()).length === 2, 'agent respawned');
  const argv = (await rig.records()).filter((r) => r.kind === 'argv').at(-1)!.argv as string[];
  assert.equal(argv[argv.indexOf('--resume') + 1], sessionId, 'the same session is resumed');
  assert.ok(!argv.includes('--session-id'));

  // The cut-short turn is replayed, so the agent asks again; this time the human approves.
  await waitFor(() => ofType(rig, 'pending_prompt').length === 2, 'prompt re-asked', { timeoutMs: 15_000 });
  rig.say('job', 'yes');
  await waitFor(
    () => rig.items('job').some((i) => i.content[0]?.text === 'deployed'),
    'turn finished after the restart',
  );
  assert.equal((await rig.records()).filter((r) => r.kind === 'tool_ran').length, 1);

  // Exactly-once: no emission twice; the resumed agent got the cut-short input once and never "hello" again.
  const emissions = rig
    .items('job')
    .map((i) => meta(i).emission_id)
    .filter(Boolean);
  assert.equal(new Set(emissions).size, emissions.length, 'no duplicated item');
  const secondPid = (await agentPids())[1];
  const secondTurns = (await rig.records())
    .filter((r) => r.pid === secondPid && r.kind === 'stdin' && String(r.line).includes('"type":"user"'))
    .map((r) => (JSON.parse(String(r.line)) as { message: { content: unknown } }).message.content);
  assert.equal(secondTurns.length, 1);
  assert.match(JSON.stringify(secondTurns[0]), /approve-me now/);
  assert.equal(rig.envelopeState('job'), 'active');
  assert.equal(rig.items('worker').filter((i) => meta(i).type === 'section_attached').length, 2);

  // Graceful stop: exit 0, lock removed, agent gone, worker object left in place, thread.yaml still active.
  second.child.kill('SIGTERM');
  const exit = await waitExit(second.child, 20_000);
  assert.equal(exit.status, 0, second.stderr().slice(-2000));
  assert.ok(!existsSync(join(rig.home, 'instance.yaml')));
  await waitFor(() => {
    try {
      process.kill(secondPid, 0);
      return false;
    } catch {
      return true;
    }
  }, 'agent stopped with the worker');
  assert.ok(rig.emu.control.getObject(rig.ref, 'worker'));
  assert.equal((await rig.threadYaml('job'))?.agent.state, 'active');
  const snap = JSON.parse(await readFile(join(rig.home, 'snapshot.json'), 'utf8')) as { phase: string };
  assert.equal(snap.phase, 'stopped');
  assert.ok(!second.stderr().includes(rig.worker.api_key), 'the API key never reaches the log');
});
