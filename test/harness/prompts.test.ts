/**
 * Interactive prompts (protocol §9): the open prompt is recorded in thread.yaml and posted; the first non-self
 * reply answers it (approval yes/no, a two-question ask_user_question with `1)`/`2)` lines); the desktop answers
 * in-process; pending_prompt_resolved lands before anything the agent emits afterwards, with answered_via.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { makeRig, waitFor, waitSnapshot, type Rig } from './support';

const QUESTIONS = [
  {
    question: 'Which target?',
    header: 'Target',
    multiSelect: false,
    options: [{ label: 'staging' }, { label: 'production' }],
  },
  { question: 'Notify the team?', header: 'Notify', multiSelect: false, options: [{ label: 'yes' }, { label: 'no' }] },
];

const SCENARIO = {
  markers: {
    'approve-me': {
      steps: [{ tool: { name: 'Bash', input: { command: 'rm -rf build' } } }, { text: 'after the tool' }],
    },
    'ask-me': { steps: [{ ask: { questions: QUESTIONS } }, { text: 'after the questions' }] },
    'withdraw-it': {
      steps: [{ tool: { name: 'Bash', input: { command: 'make' }, cancelAfterMs: 200 } }, { text: 'moved on' }],
    },
  },
};

type Item = ReturnType<Rig['items']>[number];
const meta = (i: Item): Record<string, unknown> => i.metadata ?? {};

function resolvedItems(rig: Rig): Item[] {
  return rig.items('job').filter((i) => meta(i).type === 'pending_prompt_resolved');
}

async function nextPrompt(rig: Rig, count: number): Promise<Record<string, unknown>> {
  await waitFor(
    () => rig.items('job').filter((i) => meta(i).type === 'pending_prompt').length === count,
    `pending_prompt #${count}`,
  );
  const item = rig.items('job').filter((i) => meta(i).type === 'pending_prompt')[count - 1];
  return meta(item).prompt as Record<string, unknown>;
}

/** The item that follows the n-th resolution must not come from the agent before the resolution itself. */
function assertResolvedBeforeAgentOutput(rig: Rig, promptId: string): void {
  const items = rig.items('job');
  const at = items.findIndex((i) => meta(i).type === 'pending_prompt_resolved' && meta(i).prompt_id === promptId);
  const promptAt = items.findIndex(
    (i) => meta(i).type === 'pending_prompt' && (meta(i).prompt as { id: string }).id === promptId,
  );
  assert.ok(at > promptAt);
  const between = items
    .slice(promptAt + 1, at)
    .filter((i) => meta(i).type && meta(i).type !== 'pending_prompt_resolved');
  assert.deepEqual(
    between.map((i) => meta(i).type),
    [],
    'no agent output between the prompt and its resolution',
  );
}

test('prompts answered from the thread (approval yes/no, two questions) and from the desktop', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');

  // 1. Approval answered "yes" → the tool runs.
  rig.say('job', 'approve-me please');
  const p1 = await nextPrompt(rig, 1);
  assert.equal(p1.kind, 'approval');
  assert.match(String(p1.id), /^pr_/);
  const recorded = await rig.threadYaml('job');
  assert.equal(recorded?.open_prompt?.id, p1.id, 'open prompt recorded in thread.yaml');
  await waitSnapshot(host, (s) => s.prompts.some((p) => p.id === p1.id && p.kind === 'approval'), 'prompt in snapshot');
  rig.say('job', 'yes');
  await waitFor(() => resolvedItems(rig).length === 1, 'resolved #1');
  const r1 = meta(resolvedItems(rig)[0]);
  assert.equal(r1.resolution, 'answered');
  assert.equal(r1.answered_via, 'thread');
  assert.deepEqual(r1.answer, { kind: 'approval', decision: 'allow', scope: 'once' });
  await waitFor(async () => (await rig.records()).some((r) => r.kind === 'tool_ran'), 'the tool ran');
  await waitFor(() => rig.items('job').some((i) => i.content[0]?.text === 'after the tool'), 'turn continued');
  assertResolvedBeforeAgentOutput(rig, String(p1.id));
  assert.equal((await rig.threadYaml('job'))?.open_prompt, null);

  // 2. Approval answered "no" → denied, the tool result is an error.
  await waitFor(() => rig.items('job').filter((i) => meta(i).type === 'turn_end').length === 1, 'turn 1 ended');
  rig.say('job', 'approve-me again');
  const p2 = await nextPrompt(rig, 2);
  rig.say('job', 'no');
  await waitFor(() => resolvedItems(rig).length === 2, 'resolved #2');
  assert.equal((meta(resolvedItems(rig)[1]).answer as { decision: string }).decision, 'deny');
  await waitFor(
    () =>
      rig.items('job').some((i) => meta(i).type === 'tool_result' && (meta(i).tool as { is_error: boolean }).is_error),
    'denied tool result',
  );
  assertResolvedBeforeAgentOutput(rig, String(p2.id));
  assert.equal((await rig.records()).filter((r) => r.kind === 'tool_ran').length, 1, 'the denied tool did not run');

  // 3. Two questions answered with numbered lines.
  await waitFor(() => rig.items('job').filter((i) => meta(i).type === 'turn_end').length === 2, 'turn 2 ended');
  rig.say('job', 'ask-me something');
  const p3 = await nextPrompt(rig, 3);
  assert.equal(p3.kind, 'ask_user_question');
  assert.equal((p3.questions as unknown[]).length, 2);
  rig.say('job', '1) production\n2) no');
  await waitFor(() => resolvedItems(rig).length === 3, 'resolved #3');
  assert.deepEqual((meta(resolvedItems(rig)[2]).answer as { answers: unknown }).answers, {
    'Which target?': 'production',
    'Notify the team?': 'no',
  });
  await waitFor(
    () =>
      rig
        .items('job')
        .some(
          (i) =>
            meta(i).type === 'tool_result' &&
            String((meta(i).tool as { output: string }).output).includes('"Which target?"="production"'),
        ),
    'answers reached the agent',
  );

  // 4. Answered in-process from the desktop.
  await waitFor(() => rig.items('job').filter((i) => meta(i).type === 'turn_end').length === 3, 'turn 3 ended');
  rig.say('job', 'approve-me from the desktop');
  const p4 = await nextPrompt(rig, 4);
  await host.answerPrompt(String(p4.id), { kind: 'approval', decision: 'allow' });
  await waitFor(() => resolvedItems(rig).length === 4, 'resolved #4');
  const r4 = meta(resolvedItems(rig)[3]);
  assert.equal(r4.answered_via, 'desktop');
  assert.equal(r4.prompt_id, p4.id);
  await waitFor(async () => (await rig.records()).filter((r) => r.kind === 'tool_ran').length === 2, 'the tool ran');
  assertResolvedBeforeAgentOutput(rig, String(p4.id));
  await assert.rejects(host.answerPrompt(String(p4.id), { kind: 'approval', decision: 'allow' }), {
    code: 'NOT_FOUND',
  });
  assert.equal(host.snapshot().prompts.length, 0);
});

test('completing a thread with an open prompt cancels it with reason thread_completed', async (t) => {
  const rig = await makeRig(t, { scenario: SCENARIO });
  rig.chat('job');
  rig.say('job', 'approve-me');
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  const p = await nextPrompt(rig, 1);
  rig.setState('job', 'completed');
  await waitFor(() => resolvedItems(rig).length === 1, 'cancelled');
  const r = meta(resolvedItems(rig)[0]);
  assert.equal(r.prompt_id, p.id);
  assert.equal(r.resolution, 'cancelled');
  assert.equal(r.reason, 'thread_completed');
  assert.equal((await rig.records()).filter((x) => x.kind === 'tool_ran').length, 0, 'unanswered approval = denied');
  assert.equal((await rig.threadYaml('job'))?.open_prompt, null);
});

test('graceful stop with an open prompt: cancelled with worker_restart, agent stopped, lock removed; the restart re-asks', async (t) => {
  const rig = await makeRig(t, { scenario: SCENARIO });
  rig.chat('job');
  rig.say('job', 'approve-me');
  rig.handoff('job');
  const first = rig.host();
  await first.start();
  const p = await nextPrompt(rig, 1);
  await first.stop();
  const r = meta(resolvedItems(rig)[0]);
  assert.deepEqual([r.prompt_id, r.resolution, r.reason], [p.id, 'cancelled', 'worker_restart']);
  assert.equal(resolvedItems(rig).length, 1);
  const local = await rig.threadYaml('job');
  assert.equal(local?.agent.state, 'active', 'stays active locally: the next start resumes it');
  assert.equal(local?.open_prompt, null);
  assert.ok(!existsSync(rig.paths.instance), 'lock removed');
  assert.equal(rig.envelopeState('job'), 'active');

  const second = rig.host();
  await second.start();
  await nextPrompt(rig, 2);
  assert.equal(resolvedItems(rig).length, 1, 'nothing cancelled twice');
  await second.stop();
});

test('a prompt the agent withdraws itself is cancelled with a protocol §9.4 reason (agent_exit)', async (t) => {
  const rig = await makeRig(t, { scenario: SCENARIO });
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  rig.say('job', 'withdraw-it now');
  const p = await nextPrompt(rig, 1);
  await waitFor(() => resolvedItems(rig).length === 1, 'resolution posted');
  const r = meta(resolvedItems(rig)[0]);
  assert.deepEqual([r.prompt_id, r.resolution, r.reason], [p.id, 'cancelled', 'agent_exit']);
  await waitFor(() => rig.kinds('job').includes('turn_end'), 'the turn goes on');
  assert.equal((await rig.threadYaml('job'))?.open_prompt, null);
  for (const item of resolvedItems(rig)) {
    assert.ok(
      ['worker_restart', 'thread_completed', 'thread_deleted', 'agent_exit'].includes(String(meta(item).reason)),
    );
  }
});
