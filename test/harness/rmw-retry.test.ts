/**
 * The read-modify-write of protocol §6.4 when the upload fails: the retry starts from a fresh download, so
 * a user's edit made while the worker was backing off is kept (re-sending the stale value would erase it);
 * and an ambiguous failure whose write did land counts as written, not as "the user changed it".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../../main/emulator/index';
import { BlobHubClient } from '../../main/core/api/client';
import { patchThreadMetadata, writeInstanceState } from '../../main/core/harness/envelope';
import { waitFor } from '../support/process';

async function world(t: { after(fn: () => Promise<void>): void }) {
  const emu = await startEmulator();
  const worker = emu.control.createUser({ name: 'Worker', email: 'w@example.test' });
  const human = emu.control.createUser({ name: 'Human', email: 'h@example.test' });
  const ref = emu.control.createSession({ members: [worker.user_id, human.user_id] });
  const api = new BlobHubClient({ apiUrl: emu.apiUrl, apiKey: worker.api_key, backoffMaxMs: 600 });
  t.after(async () => {
    api.close();
    await emu.close();
  });
  const thread = (state: string, extra: Record<string, unknown> = {}) => ({
    type: 'thread',
    thread: {
      metadata: { workspace: { work_folder: '/w' }, agent: { type: 'claude_code' }, instance: { state }, ...extra },
    },
  });
  return { emu, human, ref, api, thread };
}

test(
  'a failed upload is retried from a fresh read: the user edit made meanwhile survives',
  { timeout: 20_000 },
  async (t) => {
    const { emu, human, ref, api, thread } = await world(t);
    emu.control.uploadObject(human.user_id, ref, 't1', thread('failed'));
    emu.control.addFault({ command: 'upload_session_object', kind: 'status', status: 503, times: 1 });

    const writing = patchThreadMetadata(api, ref, 't1', (m) => ({ ...m, instance: { state: 'pending' } }));
    await waitFor(
      () => (emu.control.counters().byCommand['upload_session_object'] ?? 0) >= 1,
      'the first (failing) upload',
    );
    // While the worker backs off, the user adds a note to the envelope.
    emu.control.uploadObject(human.user_id, ref, 't1', thread('failed', { note: 'added by the user' }));
    assert.equal(await writing, 'written');

    const metadata = (
      emu.control.getObject(ref, 't1')!.value as unknown as { thread: { metadata: Record<string, unknown> } }
    ).thread.metadata;
    assert.equal(metadata.note, 'added by the user', 'the retry re-sent a stale value and erased the user edit');
    assert.deepEqual(metadata.instance, { state: 'pending' });
  },
);

test(
  'a failed upload whose precondition no longer holds after the re-read is skipped',
  { timeout: 20_000 },
  async (t) => {
    const { emu, human, ref, api, thread } = await world(t);
    emu.control.uploadObject(human.user_id, ref, 't2', thread('pending'));
    emu.control.addFault({ command: 'upload_session_object', kind: 'status', status: 500, times: 1 });
    const writing = writeInstanceState(api, ref, 't2', 'active', (s) => s === 'pending');
    await waitFor(
      () => (emu.control.counters().byCommand['upload_session_object'] ?? 0) >= 1,
      'the first (failing) upload',
    );
    emu.control.uploadObject(human.user_id, ref, 't2', thread('completed'));
    assert.equal(await writing, 'precondition_failed');
    assert.deepEqual(
      (emu.control.getObject(ref, 't2')!.value as unknown as ReturnType<typeof thread>).thread.metadata.instance,
      { state: 'completed' },
    );
  },
);

test(
  'an upload stored but unanswered (connection dropped) counts as written on the re-read',
  { timeout: 20_000 },
  async (t) => {
    const { emu, human, ref, api, thread } = await world(t);
    emu.control.uploadObject(human.user_id, ref, 't3', thread('pending'));
    emu.control.addFault({ command: 'upload_session_object', kind: 'drop_after', times: 1 });
    assert.equal(await writeInstanceState(api, ref, 't3', 'active', (s) => s === 'pending'), 'written');
    assert.deepEqual(
      (emu.control.getObject(ref, 't3')!.value as unknown as ReturnType<typeof thread>).thread.metadata.instance,
      { state: 'active' },
    );
    assert.equal(emu.control.counters().byCommand['upload_session_object'], 1, 'no second upload was needed');
  },
);
