/**
 * The agent-slot pool is FIFO by the time each thread's `pending` was SEEN (protocol §6.2 step 5), not by the
 * time its checklist happened to finish. A thread seen first whose activation is slowed down (here: a stale
 * prompt to cancel first, through a slow outbox) still gets the next free slot before a thread seen later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ThreadRunner } from '../../main/core/harness/thread-runner';
import { DEFAULT_THREAD_TIMING, type ThreadContext, type ThreadOutbox } from '../../main/core/harness/thread-context';
import { SlotPool } from '../../main/core/harness/slots';
import { JobPaths } from '../../main/core/state/paths';
import { silentLogger } from '../../main/core/log';
import { blankThreadFile } from '../../main/core/harness/local-state';
import { writeYamlAtomic } from '../../main/core/state/yaml-file';
import type { BlobHubApi } from '../../main/core/api/types';
import type { Job } from '../../main/core/harness/handoff';
import { tempDir, waitFor } from '../support/process';
import { DEFAULT_LOGS, DEFAULT_POLICY } from '../../main/core/state/config';

test('slot pool: a thread seen pending first is granted first even when its checklist finishes later', async (t) => {
  const tmp = await tempDir('bhw-fifo-');
  t.after(() => tmp.cleanup());
  const work = join(tmp.path, 'repo');
  await mkdir(work);
  const paths = new JobPaths(join(tmp.path, 'job'));
  // Thread "a" left a prompt open in a previous run: its activation first cancels it through its outbox.
  const stale = blankThreadFile('a', new Date().toISOString());
  stale.open_prompt = { id: 'pr_stale', kind: 'text', posted_item_id: null, created_at: null, payload: {} };
  await writeYamlAtomic(paths.threadYaml('a'), stale);

  const pool = new SlotPool(1);
  pool.request({ key: 'holder', seenAt: 0, grant: () => undefined });
  const outbox: ThreadOutbox = {
    enqueue: () => ({ emissionId: 'em_x', posted: new Promise(() => undefined) }),
    drain: async () => undefined,
    close: async () => undefined,
  };
  const ctx: ThreadContext = {
    // Once granted, the runner re-reads its envelope: never answered here, the test only looks at the pool.
    api: { downloadSessionObject: () => new Promise(() => undefined) } as unknown as BlobHubApi,
    userId: 'usr_worker',
    config: () => ({
      polling: { interval_idle_ms: 1500, interval_active_ms: 3000, backoff_max_ms: 30000 },
      concurrency: { max_agents: 1 },
      agents: { claude_code: {}, codex: {} },
      policy: DEFAULT_POLICY,
      logs: DEFAULT_LOGS,
      sections: [],
    }),
    pool,
    logger: silentLogger,
    env: {},
    agentFactory: () => {
      throw new Error('no agent in this test');
    },
    resolveExecutable: (n) => `/usr/bin/${n}`,
    changed: () => undefined,
    transient: () => undefined,
    now: () => new Date(),
    sectionId: 's',
    ref: { revision_id: 'rev', session_id: 'ses' },
    paths,
    openOutbox: async (alias) => {
      if (alias === 'a') await new Promise((r) => setTimeout(r, 300)); // a slow journal
      return outbox;
    },
    activity: () => undefined,
    timing: DEFAULT_THREAD_TIMING,
  };
  const job = (alias: string): Job => ({
    alias,
    state: 'pending',
    metadata: { workspace: { work_folder: work }, agent: { type: 'claude_code' }, instance: { state: 'pending' } },
  });
  const a = await ThreadRunner.open('a', ctx);
  const b = await ThreadRunner.open('b', ctx);
  void a.onEnvelope(job('a'), true);
  await new Promise((r) => setTimeout(r, 20));
  void b.onEnvelope(job('b'), true);

  await waitFor(() => pool.queued.length === 2, 'both threads wait for the slot');
  pool.release('holder');
  assert.equal(pool.holds('s/a'), true, 'the thread seen first gets the slot');
  assert.deepEqual(pool.queued, ['s/b']);
});
