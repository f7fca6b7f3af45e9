/**
 * Every thread-level code of the activation checklist and of a running thread: what lands on the server (the
 * envelope goes `failed`, a `thread_failed` activity item carries the code; the envelope carries no detail) and
 * locally (thread.yaml agent.error), and a user's reset to `pending` re-running the activation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot } from './support';

function failedItems(rig: Awaited<ReturnType<typeof makeRig>>): Map<string, { code: string; message: string }> {
  const out = new Map<string, { code: string; message: string }>();
  for (const i of rig.items('worker')) {
    const m = i.metadata as { type?: string; alias?: string; error?: { code: string; message: string } } | undefined;
    if (m?.type === 'thread_failed' && m.alias && m.error) out.set(m.alias, m.error);
  }
  return out;
}

test('the activation checklist fails each thread with its code, in order, and records it only locally + in the activity item', async (t) => {
  const rig = await makeRig(t);
  const aFile = join(rig.workFolder, 'a-file.txt');
  await writeFile(aFile, 'x');
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['relative', { workspace: { work_folder: 'relative/path' } }, 'WORK_FOLDER_NOT_ABSOLUTE'],
    ['missing-folder', { workspace: { work_folder: '/nonexistent/bhw-test-folder' } }, 'WORK_FOLDER_NOT_FOUND'],
    ['file-folder', { workspace: { work_folder: aFile } }, 'WORK_FOLDER_NOT_A_DIR'],
    // Order: the folder is checked before the agent type.
    ['both-bad', { workspace: { work_folder: 'nope' }, agent: { type: 'gpt' } }, 'WORK_FOLDER_NOT_ABSOLUTE'],
    ['bad-type', { agent: { type: 'gpt' } }, 'AGENT_TYPE_UNSUPPORTED'],
    ['bad-perm', { agent: { type: 'claude_code', permissions: 'yolo' } }, 'PERMISSIONS_UNSUPPORTED'],
    ['no-exe', { agent: { type: 'claude_code', executable: '/nonexistent/bin/claude' } }, 'AGENT_EXECUTABLE_NOT_FOUND'],
    [
      'no-exe-path',
      { agent: { type: 'codex', executable: 'definitely-not-on-path-codex' } },
      'AGENT_EXECUTABLE_NOT_FOUND',
    ],
  ];
  for (const [alias, meta] of cases) rig.handoff(alias, meta);
  const host = rig.host();
  await host.start();
  await waitFor(() => failedItems(rig).size === cases.length, 'every thread_failed item', { timeoutMs: 15_000 });
  const items = failedItems(rig);
  for (const [alias, , code] of cases) {
    assert.equal(items.get(alias)?.code, code, alias);
    assert.equal(rig.envelopeState(alias), 'failed', alias);
    const local = await rig.threadYaml(alias);
    assert.equal(local?.agent.state, 'failed');
    assert.equal(local?.agent.error.code, code);
    assert.ok(local?.agent.error.message && local.agent.error.at);
    // Failure detail never reaches the envelope.
    const env = rig.emu.control.getObject(rig.ref, alias)!;
    assert.ok(!JSON.stringify(env.value).includes(code), `${alias} envelope has no error detail`);
  }
  await waitSnapshot(
    host,
    (s) => threadOf(s, 'bad-perm')?.last_error?.code === 'PERMISSIONS_UNSUPPORTED',
    'snapshot error',
  );
  assert.equal(threadOf(host.snapshot(), 'bad-perm')?.state, 'failed');
  assert.equal(host.snapshot().agents.busy, 0, 'failures release their slots');

  // The user fixes the handoff and resets failed → pending: the activation runs again and succeeds.
  const sectionId = host.snapshot().sections[0].id;
  await host.updateHandoff(sectionId, 'bad-perm', { permissions: 'autonomous' });
  await host.resetThread(sectionId, 'bad-perm');
  await waitFor(() => rig.envelopeState('bad-perm') === 'active', 'reset thread active');
  const local = await rig.threadYaml('bad-perm');
  assert.equal(local?.agent.state, 'active');
  assert.equal(local?.agent.error.code, null, 'the old error is cleared');
  assert.equal(local?.agent.resolved.permissions, 'autonomous');
});

test('an agent that dies mid-turn fails the thread with AGENT_CRASHED carrying the exit code and last stderr line', async (t) => {
  const rig = await makeRig(t, {
    scenario: {
      markers: {
        'crash-now': {
          steps: [{ text: 'about to fall over' }, { crash: { code: 3, stderr: 'fatal: out of cheese' } }],
        },
      },
    },
  });
  rig.chat('job');
  rig.say('job', 'please crash-now');
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => failedItems(rig).has('job'), 'thread_failed');
  const error = failedItems(rig).get('job')!;
  assert.equal(error.code, 'AGENT_CRASHED');
  assert.match(error.message, /exit code 3/);
  assert.match(error.message, /out of cheese/);
  assert.equal(rig.envelopeState('job'), 'failed');
  // Posted through the job thread's outbox, which is not ordered with the worker thread's thread_failed item.
  await waitFor(
    () => agentTexts(rig, 'job').includes('about to fall over'),
    'what the agent said before dying was posted',
  );
  assert.equal((await rig.threadYaml('job'))?.agent.error.code, 'AGENT_CRASHED');
  assert.equal(host.snapshot().agents.busy, 0);
});

test('an item the server refuses as too large even after truncation fails the thread with THREAD_ITEM_TOO_LARGE', async (t) => {
  const rig = await makeRig(t, { scenario: { default: { steps: [{ text: 'y'.repeat(200_000) }] } } });
  rig.emu.control.setItemSizeCap(20_000);
  rig.chat('job');
  rig.say('job', 'say something big');
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => failedItems(rig).has('job'), 'thread_failed', { timeoutMs: 15_000 });
  assert.equal(failedItems(rig).get('job')?.code, 'THREAD_ITEM_TOO_LARGE');
  assert.equal(rig.envelopeState('job'), 'failed');
  assert.equal((await rig.threadYaml('job'))?.agent.error.code, 'THREAD_ITEM_TOO_LARGE');
});
