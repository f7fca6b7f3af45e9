/**
 * The `worker` object's heartbeat (protocol §5: a read-modify-write of metadata.instance.last_seen_at, every
 * 30 s by default; shortened here) and section.yaml's events.last_processed_at (protocol §4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SECTION_TIMING } from '../../main/core/harness/section-context';
import { FAST_TIMING, makeRig, waitFor } from './support';

test('heartbeat: last_seen_at is refreshed on the timer, every other key of the worker object kept; last_processed_at advances', async (t) => {
  assert.equal(DEFAULT_SECTION_TIMING.heartbeatMs, 30_000);
  assert.equal(DEFAULT_SECTION_TIMING.realtimeReconcileMs, 60_000);
  const rig = await makeRig(t);
  const host = rig.host({ timing: { ...FAST_TIMING, heartbeatMs: 250 } });
  await host.start();
  const instance = (): Record<string, unknown> => {
    const value = rig.emu.control.getObject(rig.ref, 'worker')?.value as
      { thread?: { metadata?: { instance?: Record<string, unknown> } } } | undefined;
    return value?.thread?.metadata?.instance ?? {};
  };
  await waitFor(() => typeof instance().last_seen_at === 'string', 'attached');
  const first = instance();
  // A key another tool added meanwhile survives the heartbeat (read-modify-write). It is added while no heartbeat
  // is between its download and its upload: the API has no conditional write, so an upload built on a read from
  // before the note would drop it (docs/harness.md) — not what this checks. The attach created the object with
  // one upload (the session had none); every heartbeat downloads it, then uploads it.
  const between = (): boolean => {
    const c = rig.emu.control.counters();
    const uploads = c.byCommand.upload_session_object ?? 0;
    return uploads !== (c.byCommand.download_session_object ?? 0) + 1 || c.mutating !== c.mutationsApplied;
  };
  await waitFor(() => !between(), 'no heartbeat between its download and its upload');
  const noted = instance();
  const value = structuredClone(rig.emu.control.getObject(rig.ref, 'worker')!.value) as unknown as {
    thread: { metadata: Record<string, unknown> };
  };
  value.thread.metadata.note = 'kept';
  rig.emu.control.uploadObject(rig.worker.user_id, rig.ref, 'worker', value as never);
  await waitFor(() => instance().last_seen_at !== noted.last_seen_at, 'last_seen_at refreshed after the note');
  const later = instance();
  assert.equal(later.instance_id, first.instance_id);
  assert.equal(later.started_at, first.started_at);
  assert.equal(later.status, 'attached');
  assert.ok(String(later.last_seen_at) > String(first.last_seen_at));
  const metadata = (
    rig.emu.control.getObject(rig.ref, 'worker')!.value as unknown as { thread: { metadata: Record<string, unknown> } }
  ).thread.metadata;
  assert.equal(metadata.note, 'kept');
  assert.deepEqual(metadata.user, { user_id: rig.worker.user_id });

  await waitFor(async () => Boolean((await rig.sectionYaml())?.events.last_processed_at), 'last_processed_at written');
  const at = (await rig.sectionYaml())!.events.last_processed_at!;
  assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  await waitFor(
    async () => (await rig.sectionYaml())!.events.last_processed_at! > at,
    'last_processed_at advances with each reconcile',
  );
});

test('heartbeat: on a slow server a heartbeat is skipped while the previous one is still in flight (never two at once)', async (t) => {
  const rig = await makeRig(t);
  const host = rig.host({ timing: { ...FAST_TIMING, heartbeatMs: 100 } });
  await host.start();
  await waitFor(() => rig.emu.control.getObject(rig.ref, 'worker') !== null, 'attached');
  // Every read of the worker object now takes 600 ms: six heartbeat periods.
  rig.emu.control.addFault({ command: 'download_session_object', alias: 'worker', kind: 'latency', latencyMs: 600 });
  rig.emu.control.resetCounters();
  await new Promise((r) => setTimeout(r, 2_000));
  // The session holds only the worker object, so every upload is a heartbeat's write. One at a time: at most
  // ceil(2000 / 600) beats complete; overlapping beats (one started every 100 ms) would write ~15 times.
  const uploads = rig.emu.control.counters().byCommand.upload_session_object ?? 0;
  assert.ok(uploads >= 1 && uploads <= 5, `heartbeat writes in 2 s: ${uploads}`);
});
