/**
 * The revised idle cadence of protocol §4: the safety-net reconcile lengthened to 5 min only while realtime is
 * connected and answered a keep-alive within 60 s (a stale keep-alive falls back to 60 s, a reconnect still
 * reconciles at once), and the heartbeat's read skipped only while the feed vouches nobody else wrote `worker`
 * (it downloads again after someone else modified it). The schedule itself as a pure function, then a section
 * over the real emulator with a feed whose keep-alive the test controls, then the whole host with the real
 * realtime client. Periods are scaled down; every wait is bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../../main/emulator/index';
import { BlobHubClient } from '../../main/core/api/client';
import { Outbox } from '../../main/core/harness/outbound/outbox';
import { SectionRunner } from '../../main/core/harness/section-runner';
import { nextReconcile, type CadenceInput } from '../../main/core/harness/cadence';
import {
  DEFAULT_SECTION_TIMING,
  type ChangeFeed,
  type ChangeFeedHandlers,
} from '../../main/core/harness/section-context';
import { DEFAULT_THREAD_TIMING } from '../../main/core/harness/thread-context';
import { SlotPool } from '../../main/core/harness/slots';
import { StatePaths } from '../../main/core/state/paths';
import { silentLogger } from '../../main/core/log';
import { createAgentSession, resolveExecutable } from '../../main/core/agents/index';
import { DEFAULT_LOGS, DEFAULT_POLICY, type WorkerConfig } from '../../main/core/state/config';
import type { RealtimeStatus } from '../../main/core/api/realtime';
import { tempDir, waitFor } from '../support/process';
import { FAST_TIMING, makeRig } from './support';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------ pure

const T0 = 1_000_000;
const base: CadenceInput = {
  realtime: 'connected',
  keepAliveAt: T0,
  anyActive: true,
  polling: { interval_active_ms: 3000, interval_idle_ms: 15_000 },
  timing: { realtimeReconcileMs: 60_000, realtimeQuietReconcileMs: 300_000, keepAliveFreshMs: 60_000 },
  lastStartedAt: T0,
  lastEndedAt: T0 + 100,
};

test('schedule: the documented defaults are 60 s, at most 5 min, a keep-alive within 60 s, a ping every 30 s', () => {
  assert.equal(DEFAULT_SECTION_TIMING.realtimeReconcileMs, 60_000);
  assert.equal(DEFAULT_SECTION_TIMING.realtimeQuietReconcileMs, 300_000);
  assert.equal(DEFAULT_SECTION_TIMING.keepAliveFreshMs, 60_000);
  assert.ok(DEFAULT_SECTION_TIMING.keepAlivePingMs < DEFAULT_SECTION_TIMING.keepAliveFreshMs);
});

test('schedule: without realtime the polling cadence is unchanged (active / idle, start to start, a tenth of rest)', () => {
  for (const realtime of ['off', 'connecting'] as RealtimeStatus[]) {
    const active = nextReconcile({ ...base, realtime, keepAliveAt: null }, T0 + 10);
    assert.deepEqual(active, { mode: 'active', intervalMs: 3000, dueAt: T0 + 3000, wakeAt: T0 + 3000 });
    const idle = nextReconcile({ ...base, realtime, anyActive: false }, T0 + 10);
    assert.equal(idle.mode, 'idle');
    assert.equal(idle.dueAt, T0 + 15_000);
    // A keep-alive time left over from a dropped connection lengthens nothing.
    const slow = nextReconcile({ ...base, realtime, lastEndedAt: T0 + 2900 }, T0 + 2900);
    assert.equal(slow.dueAt, T0 + 2900 + 300);
  }
});

test('schedule: connected with a fresh keep-alive → up to 5 min, looked at again when that keep-alive would go stale', () => {
  const n = nextReconcile({ ...base, keepAliveAt: T0 + 20_000 }, T0 + 30_000);
  assert.equal(n.mode, 'realtime-quiet');
  assert.equal(n.intervalMs, 300_000);
  assert.equal(n.dueAt, T0 + 300_000);
  assert.equal(n.wakeAt, T0 + 20_000 + 60_000 + 1);
  // With pings every 30 s the keep-alive stays fresh: at each look the next reconcile is still 5 min out.
  const later = nextReconcile({ ...base, keepAliveAt: T0 + 80_000 }, T0 + 80_001);
  assert.equal(later.mode, 'realtime-quiet');
  assert.equal(later.dueAt, T0 + 300_000);
});

test('schedule: a stale keep-alive (or none yet) falls back to 60 s from the last reconcile, overdue → at once', () => {
  const none = nextReconcile({ ...base, keepAliveAt: null }, T0 + 10);
  assert.deepEqual(none, { mode: 'realtime', intervalMs: 60_000, dueAt: T0 + 60_000, wakeAt: T0 + 60_000 });
  const stale = nextReconcile({ ...base, keepAliveAt: T0 + 10_000 }, T0 + 70_001);
  assert.equal(stale.mode, 'realtime');
  assert.equal(stale.dueAt, T0 + 60_000);
  assert.ok(stale.dueAt <= T0 + 70_001, 'overdue: the loop reconciles at once');
  // The quiet wake never comes before the 60 s mark, so a keep-alive that goes stale early costs no extra reconcile.
  const early = nextReconcile({ ...base, keepAliveAt: T0 - 50_000 }, T0 + 5_000);
  assert.equal(early.mode, 'realtime-quiet');
  assert.equal(early.wakeAt, T0 + 60_000);
});

// ------------------------------------------------------- a section over the emulator, keep-alive controlled

test(
  'section: reconciles are spaced by the lengthened period while the keep-alive is fresh; stale → back to the short period; a reconnect reconciles at once',
  { timeout: 60_000 },
  async (t) => {
    const emu = await startEmulator();
    const tmp = await tempDir('bhw-cadence-');
    const worker = emu.control.createUser({ name: 'Worker', email: 'w@example.test' });
    const session = emu.control.createSession({ members: [worker.user_id] });
    const api = new BlobHubClient({ apiUrl: emu.apiUrl, apiKey: worker.api_key });
    const section = { index: 0, name: 's0', job_type: 'session_agent_harness' as const, session };
    const config: WorkerConfig = {
      polling: { interval_idle_ms: 50, interval_active_ms: 50, backoff_max_ms: 200 },
      concurrency: { max_agents: 1 },
      agents: { claude_code: {}, codex: {} },
      policy: DEFAULT_POLICY,
      logs: DEFAULT_LOGS,
      sections: [section],
    };
    let handlers: ChangeFeedHandlers | null = null;
    const feed = { status: 'off' as RealtimeStatus, lastKeepAliveAt: null as number | null };
    const runner = new SectionRunner({
      section,
      paths: new StatePaths(tmp.path),
      api,
      userId: worker.user_id,
      instance: { instanceId: 'ins_test', version: '0.0.0', startedAt: new Date().toISOString() },
      config: () => config,
      pool: new SlotPool(1),
      logger: silentLogger,
      env: process.env,
      agentFactory: createAgentSession,
      resolveExecutable,
      openOutbox: (req) =>
        Outbox.open({
          api,
          ref: req.ref,
          alias: req.alias,
          journalPath: req.journalPath,
          logger: req.logger,
          onFatal: req.onFatal,
        }),
      openFeed: (h): ChangeFeed => {
        handlers = h;
        return {
          get status() {
            return feed.status;
          },
          get lastKeepAliveAt() {
            return feed.lastKeepAliveAt;
          },
          start: () => undefined,
          close: async () => undefined,
        };
      },
      changed: () => undefined,
      transient: () => undefined,
      now: () => new Date(),
      timing: {
        ...DEFAULT_SECTION_TIMING,
        ...DEFAULT_THREAD_TIMING,
        heartbeatMs: 3_600_000,
        realtimeReconcileMs: 300,
        realtimeQuietReconcileMs: 600_000,
        keepAliveFreshMs: 2_000,
      },
    });
    // The fake server answers a keep-alive every 100 ms while `pinging`.
    let pinging = true;
    const pinger = setInterval(() => {
      if (pinging && feed.status === 'connected') feed.lastKeepAliveAt = Date.now();
    }, 100);
    t.after(async () => {
      clearInterval(pinger);
      await runner.stop();
      api.close();
      await emu.close();
      await tmp.cleanup();
    });
    const lists = (): number => emu.control.counters().byCommand.list_session_objects ?? 0;
    const connect = async (): Promise<void> => {
      feed.status = 'connected';
      feed.lastKeepAliveAt = Date.now();
      handlers!.onStatus('connected');
      await handlers!.onConnected();
    };

    await runner.start();
    await waitFor(() => handlers, 'the feed opened');
    await connect();
    // Fresh keep-alive: the next reconcile is 10 min out, so none in 1.5 s (the short period would give ~5).
    emu.control.resetCounters();
    await sleep(1500);
    assert.equal(lists(), 0, 'reconciled while the keep-alive was fresh');

    // The server stops answering: 2 s later the keep-alive is stale and the 300 ms period is back.
    pinging = false;
    await waitFor(() => lists() >= 3, 'reconciles every 300 ms after the keep-alive went stale', { timeoutMs: 15_000 });

    // Answering again: quiet again. Then a reconnect reconciles at once, though the lengthened period holds.
    pinging = true;
    feed.lastKeepAliveAt = Date.now();
    await sleep(400);
    emu.control.resetCounters();
    await sleep(800);
    assert.equal(lists(), 0, 'quiet again once the keep-alive is fresh');
    feed.status = 'connecting';
    feed.lastKeepAliveAt = null;
    handlers!.onStatus('connecting');
    await sleep(100);
    emu.control.resetCounters();
    pinging = true;
    await connect();
    assert.ok(lists() >= 1, 'the reconnect reconciled at once');
  },
);

// -------------------------------------------------------------- the heartbeat's read, real realtime feed

test(
  'heartbeat with realtime up: writes without reading while nobody else wrote `worker`; downloads again after someone else modified it (their key kept)',
  { timeout: 60_000 },
  async (t) => {
    const rig = await makeRig(t, { realtime: true });
    const host = rig.host({ timing: { ...FAST_TIMING, heartbeatMs: 200, keepAlivePingMs: 100 } });
    await host.start();
    const metadata = (): Record<string, unknown> =>
      (rig.emu.control.getObject(rig.ref, 'worker')?.value as { thread?: { metadata?: Record<string, unknown> } })
        ?.thread?.metadata ?? {};
    const lastSeen = (): string => String((metadata().instance as { last_seen_at?: string } | undefined)?.last_seen_at);
    await waitFor(() => host.snapshot().sections[0]?.realtime === 'connected', 'realtime connected');
    const counts = (): { up: number; down: number } => {
      const c = rig.emu.control.counters().byCommand;
      return { up: c.upload_session_object ?? 0, down: c.download_session_object ?? 0 };
    };
    // The session holds only `worker`: every upload is a heartbeat write, every download a heartbeat read
    // (the reconcile downloads job aliases only). Once the feed vouches, three beats write and none reads.
    await waitFor(
      async () => {
        rig.emu.control.resetCounters();
        await sleep(700);
        const c = counts();
        return c.up >= 3 && c.down === 0;
      },
      'beats that write without a read',
      { timeoutMs: 20_000, intervalMs: 1 },
    );

    // Someone else modifies `worker` (a key of their own): the next beat reads first and keeps that key.
    const value = structuredClone(rig.emu.control.getObject(rig.ref, 'worker')!.value) as unknown as {
      thread: { metadata: Record<string, unknown> };
    };
    value.thread.metadata.note = 'kept';
    const before = lastSeen();
    rig.emu.control.resetCounters();
    rig.emu.control.uploadObject(rig.worker.user_id, rig.ref, 'worker', value as never);
    await waitFor(() => lastSeen() !== before && metadata().note === 'kept', 'a beat after the outside write');
    assert.ok(counts().down >= 1, 'the beat after an outside modification downloaded the object');
    assert.equal(metadata().note, 'kept');
    await sleep(1000);
    assert.equal(metadata().note, 'kept', 'later beats (read skipped again) keep the outside key too');
    assert.equal(rig.emu.control.getObject(rig.ref, 'worker') !== null, true);
  },
);
