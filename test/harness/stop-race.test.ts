/**
 * A stop that lands while a section is still starting must end that start: nothing it would have opened
 * afterwards (the change feed, the heartbeat, the poll loop) may outlive the stop. The risky moment: a SIGTERM
 * that arrives while the section is opening its worker-thread outbox (WorkerHost starts sections without
 * awaiting them) must not let the section open its realtime socket after "stopped" and keep the CLI alive.
 * The outbox open is made slow here so the stop lands inside it every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../../main/emulator/index';
import { BlobHubClient } from '../../main/core/api/client';
import { Outbox } from '../../main/core/harness/outbound/outbox';
import { SectionRunner } from '../../main/core/harness/section-runner';
import { DEFAULT_SECTION_TIMING, type ChangeFeed } from '../../main/core/harness/section-context';
import { DEFAULT_THREAD_TIMING } from '../../main/core/harness/thread-context';
import { SlotPool } from '../../main/core/harness/slots';
import { StatePaths } from '../../main/core/state/paths';
import { silentLogger } from '../../main/core/log';
import { createAgentSession, resolveExecutable } from '../../main/core/agents/index';
import { DEFAULT_LOGS, DEFAULT_POLICY, type WorkerConfig } from '../../main/core/state/config';
import { tempDir } from '../support/process';

test(
  'stop() while the section is opening its outbox: no feed, heartbeat or poll loop is started afterwards',
  { timeout: 30_000 },
  async (t) => {
    const emu = await startEmulator();
    const tmp = await tempDir('bhw-stoprace-');
    const worker = emu.control.createUser({ name: 'Worker', email: 'w@example.test' });
    const session = emu.control.createSession({ members: [worker.user_id] });
    const api = new BlobHubClient({ apiUrl: emu.apiUrl, apiKey: worker.api_key });
    t.after(async () => {
      api.close();
      await emu.close();
      await tmp.cleanup();
    });

    const section = { index: 0, name: 's0', job_type: 'session_agent_harness' as const, session };
    const config: WorkerConfig = {
      polling: { interval_idle_ms: 50, interval_active_ms: 50, backoff_max_ms: 200 },
      concurrency: { max_agents: 1 },
      agents: { claude_code: {}, codex: {} },
      policy: DEFAULT_POLICY,
      logs: DEFAULT_LOGS,
      sections: [section],
    };
    const feeds = { started: 0, closed: 0 };
    let outboxOpened!: () => void;
    const outboxOpening = new Promise<void>((r) => (outboxOpened = r));

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
      openOutbox: async (req) => {
        outboxOpened();
        await new Promise((r) => setTimeout(r, 300));
        return Outbox.open({
          api,
          ref: req.ref,
          alias: req.alias,
          journalPath: req.journalPath,
          logger: req.logger,
          onFatal: req.onFatal,
        });
      },
      openFeed: (): ChangeFeed => ({
        status: 'off',
        start: () => void feeds.started++,
        close: async () => void feeds.closed++,
      }),
      changed: () => undefined,
      transient: () => undefined,
      now: () => new Date(),
      timing: { ...DEFAULT_SECTION_TIMING, ...DEFAULT_THREAD_TIMING },
    });

    const starting = runner.start();
    await outboxOpening;
    await runner.stop();
    await starting;

    const requests = emu.control.counters().requests;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(feeds.started, 0, 'the change feed was started after stop()');
    assert.equal(emu.control.counters().requests, requests, 'the poll loop kept reconciling after stop()');
  },
);
