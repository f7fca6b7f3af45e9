/**
 * Reload config (stop, then start of every section) must leave nothing of the previous run behind. Records that
 * reach a thread's thread.log after its runner shut down (the agent's exit, a step that outlived the shutdown's
 * wait) used to reopen the file for good: one descriptor per thread and reload, for as long as the process ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { agentTexts, makeRig, waitFor } from './support';

/** The descriptors this process holds open on `path` (Linux /proc). */
function openOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

test(
  'reloads do not pile up open thread.log descriptors',
  { timeout: 120_000, skip: process.platform !== 'linux' && 'needs /proc' },
  async (t) => {
    const rig = await makeRig(t, { realtime: true });
    rig.chat('job');
    rig.say('job', 'hi');
    rig.handoff('job');
    const host = rig.host();
    await host.start();
    await waitFor(() => agentTexts(rig, 'job').length > 0, 'job answered', { timeoutMs: 30_000 });
    const log = rig.paths.job(rig.ref.session_id).threadLog('job');
    const running = openOn(log);
    assert.ok(running > 0, 'the running thread writes its thread.log');
    const RELOADS = 4;
    for (let i = 0; i < RELOADS; i++) {
      await host.reloadConfig();
      rig.say('job', `after reload ${i}`);
      await waitFor(() => agentTexts(rig, 'job').length > i + 1, `answer after reload ${i}`, { timeoutMs: 30_000 });
    }
    assert.ok(
      openOn(log) <= running,
      `${openOn(log)} descriptors on thread.log after ${RELOADS} reloads, ${running} while first running`,
    );
    await host.stop();
    assert.equal(openOn(log), 0, 'nothing holds thread.log after the stop');
  },
);
