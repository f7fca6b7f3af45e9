/**
 * Envelope writes are read-modify-write (protocol §6.4): only the worker's own field changes, and a state the
 * user changed meanwhile is never overwritten. Plus the recovery combinations of §6.5 that need no agent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { BlobHubClient } from '../../main/core/api/client';
import { patchThreadMetadata, writeInstanceState } from '../../main/core/harness/envelope';
import { makeRig, waitFor } from './support';

test('writeInstanceState changes only instance.state and skips when the user already moved on', async (t) => {
  const rig = await makeRig(t);
  const api = new BlobHubClient({ apiUrl: rig.emu.apiUrl, apiKey: rig.worker.api_key });
  t.after(() => api.close());
  rig.handoff('job', { extra: { keep: true }, agent: { type: 'codex', model: 'm1' } });
  assert.equal(await writeInstanceState(api, rig.ref, 'job', 'active', (s) => s === 'pending'), 'written');
  const value = rig.emu.control.getObject(rig.ref, 'job')!.value as unknown as {
    thread: { attributes: unknown; metadata: Record<string, unknown> };
  };
  assert.deepEqual(value.thread.metadata, {
    workspace: { work_folder: rig.workFolder },
    agent: { type: 'codex', model: 'm1' },
    instance: { state: 'active' },
    extra: { keep: true },
  });
  assert.deepEqual(value.thread.attributes, { name: 'job' });

  rig.setState('job', 'completed'); // the user's newer choice
  assert.equal(await writeInstanceState(api, rig.ref, 'job', 'active', (s) => s === 'pending'), 'precondition_failed');
  assert.equal(rig.envelopeState('job'), 'completed');
  assert.equal(await writeInstanceState(api, rig.ref, 'gone', 'failed', () => true), 'missing');
  rig.emu.control.uploadObject(rig.human.user_id, rig.ref, 'note', { type: 'message', content: [] });
  assert.equal(
    await patchThreadMetadata(api, rig.ref, 'note', (m) => m),
    'precondition_failed',
    'non-thread objects are never rewritten',
  );
});

test('resetThread and updateHandoff: RMW, allowed states only, other keys kept', async (t) => {
  const rig = await makeRig(t);
  rig.handoff('job', { workspace: { work_folder: 'not/absolute' }, extra: 1 });
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'failed', 'failed');
  const sid = host.snapshot().sections[0].id;

  await host.updateHandoff(sid, 'job', {
    work_folder: rig.workFolder,
    model: 'claude-x',
    effort: 'low',
    executable: null,
  });
  let meta = (
    rig.emu.control.getObject(rig.ref, 'job')!.value as unknown as { thread: { metadata: Record<string, unknown> } }
  ).thread.metadata;
  assert.deepEqual(meta, {
    workspace: { work_folder: rig.workFolder },
    agent: { type: 'claude_code', model: 'claude-x', effort: 'low' },
    instance: { state: 'failed' },
    extra: 1,
  });
  assert.equal(rig.envelopeState('job'), 'failed', 'a handoff edit without a state keeps the state');

  await host.resetThread(sid, 'job');
  await waitFor(() => rig.envelopeState('job') === 'active', 'active after reset');
  await assert.rejects(host.resetThread(sid, 'job'), { code: 'INVALID_STATE' });
  assert.equal(rig.envelopeState('job'), 'active', 'a refused reset changes nothing');
  await assert.rejects(host.resetThread(sid, 'nope'), { code: 'NOT_FOUND' });
  await assert.rejects(host.updateHandoff('no-such-section', 'job', { model: 'x' }), { code: 'NOT_FOUND' });
  const local = await rig.threadYaml('job');
  assert.equal(local?.agent.resolved.model, 'claude-x');
  assert.equal(local?.agent.resolved.effort, 'low');

  await host.updateHandoff(sid, 'job', { state: 'completed' });
  await waitFor(async () => (await rig.threadYaml('job'))?.agent.state === 'completed', 'completed locally');
  meta = (
    rig.emu.control.getObject(rig.ref, 'job')!.value as unknown as { thread: { metadata: Record<string, unknown> } }
  ).thread.metadata;
  assert.equal(meta.extra, 1);
});

test('recovery without an agent: local active + server completed/failed settle locally; server active without thread.yaml is AGENT_CRASHED', async (t) => {
  const rig = await makeRig(t);
  for (const alias of ['to-complete', 'to-fail', 'lost']) rig.handoff(alias);
  const first = rig.host();
  await first.start();
  await waitFor(() => ['to-complete', 'to-fail', 'lost'].every((a) => rig.envelopeState(a) === 'active'), 'all active');
  await first.stop();
  for (const alias of ['to-complete', 'to-fail', 'lost'])
    assert.equal((await rig.threadYaml(alias))?.agent.state, 'active');

  rig.setState('to-complete', 'completed');
  rig.setState('to-fail', 'failed');
  await rm(rig.paths.job(rig.ref.session_id).threadDir('lost'), { recursive: true });
  const agentsBefore = (await rig.records()).filter((r) => r.kind === 'argv').length;

  const second = rig.host();
  await second.start();
  await waitFor(async () => (await rig.threadYaml('to-complete'))?.agent.state === 'completed', 'completed locally');
  await waitFor(async () => (await rig.threadYaml('to-fail'))?.agent.state === 'failed', 'failed locally');
  await waitFor(() => rig.envelopeState('lost') === 'failed', 'lost → failed');
  const lost = await rig.threadYaml('lost');
  assert.equal(lost?.agent.error.code, 'AGENT_CRASHED');
  // The activity item is enqueued once the envelope write is answered, and posted through the worker thread's outbox.
  await waitFor(
    () =>
      rig
        .items('worker')
        .some(
          (i) =>
            (i.metadata as { type?: string; alias?: string }).type === 'thread_failed' &&
            (i.metadata as { alias?: string }).alias === 'lost',
        ),
    'thread_failed for lost posted',
  );
  assert.equal(rig.envelopeState('to-complete'), 'completed');
  assert.equal(rig.envelopeState('to-fail'), 'failed');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(
    (await rig.records()).filter((r) => r.kind === 'argv').length,
    agentsBefore,
    'no agent started for any of them',
  );
});
