/**
 * A real full filesystem under a running worker: the built CLI (`blobhub-worker start`) runs in a private mount
 * namespace (`unshare -m`) whose state root is a small tmpfs; the test fills it through `/proc/<pid>/root` while
 * two threads run. The thread whose write fails first fails with STATE_IO_ERROR (envelope `failed`, a log line
 * with the code); the process keeps running, no stack trace, and once space is back the other thread answers.
 * Skipped, with the reason, where mount namespaces are not permitted (not root, no unshare, a container without
 * CAP_SYS_ADMIN).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { agentTexts, makeRig } from '../harness/support';
import { CLI, ROOT, outputEnded, tempDir, waitFor } from '../support/process';
import { assertNoRawException, logLines } from '../reliability/support';

function namespaceProblem(): string | null {
  if (process.platform !== 'linux') return 'mount namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root for unshare -m and a tmpfs mount';
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (probe.error) return `unshare is not available (${probe.error.message})`;
  if (probe.status !== 0) return `unshare -m / mount -t tmpfs not permitted here: ${probe.stderr.trim()}`;
  return null;
}

const skip = namespaceProblem();

/** Writes zeros to `path` until the filesystem is full; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024);
  let total = 0;
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        total += writeSync(fd, block);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return total;
        throw e;
      }
    }
    throw new Error('the tmpfs never filled up');
  } finally {
    closeSync(fd);
  }
}

test(
  'a full state filesystem: the failing thread gets STATE_IO_ERROR, the worker and the other thread go on',
  {
    skip: skip ?? false,
    // Intermittent: in some runs thread b does not reach its failure within 20 s after the disk fills (the worker
    // stays up and idle). Open: docs/reliability.md §6.
    todo: skip ? false : 'intermittent: thread b sometimes does not fail (open, docs/reliability.md §6)',
  },
  async (t) => {
    const rig = await makeRig(t);
    const scratch = await tempDir('bhw-fulldisk-');
    t.after(() => scratch.cleanup());
    const mnt = join(scratch.path, 'state');
    mkdirSync(mnt);
    // The rig's logged-in home is copied onto the tmpfs inside the namespace; the worker never sees the original.
    const script = `mount -t tmpfs -o size=4m,mode=0700 tmpfs "$MNT" && cp -a "$SRC/." "$MNT/" && exec "$NODE" "$CLI" start --home "$MNT"`;
    const child = spawn('unshare', ['-m', 'sh', '-c', script], {
      cwd: ROOT,
      env: { ...rig.env, BLOBHUB_WORKER_HOME: '', MNT: mnt, SRC: rig.home, NODE: process.execPath, CLI },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.resume();
    child.stdin.end();
    let exited = false;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        void outputEnded(child).then(resolve);
      });
    });
    t.after(async () => {
      if (!exited) child.kill('SIGKILL');
      await exit;
    });
    const alive = (): void => {
      if (exited) throw new Error(`the worker exited; stderr: ${err.slice(-3000)}`);
    };
    const log = (): Array<Record<string, unknown>> => logLines(err).json;

    rig.chat('a');
    rig.chat('b');
    rig.say('a', 'hello a');
    rig.say('b', 'hello b');
    rig.handoff('a');
    rig.handoff('b');
    await waitFor(
      () => (alive(), agentTexts(rig, 'a').length > 0 && agentTexts(rig, 'b').length > 0),
      'both threads answered their first turn',
      { timeoutMs: 20_000 },
    );

    // The tmpfs as the worker sees it (its mount namespace), reached through its /proc root.
    const filler = join(`/proc/${child.pid}/root`, mnt, 'filler');
    const filled = fill(filler);
    t.diagnostic(`state tmpfs filled with ${filled} bytes`);
    rig.say('b', 'write something'); // b's turn end writes its inbound cursor: ENOSPC
    await waitFor(() => (alive(), rig.envelopeState('b') === 'failed'), 'b failed', { timeoutMs: 20_000 });
    const failed = log().find((l) => l.event === 'thread_failed' && l.thread === 'b');
    assert.equal(failed?.code, 'STATE_IO_ERROR', JSON.stringify(failed));
    assert.equal(rig.envelopeState('a'), 'active');

    unlinkSync(filler); // space is back
    const before = agentTexts(rig, 'a').length;
    rig.say('a', 'still there?');
    await waitFor(() => (alive(), agentTexts(rig, 'a').length > before), 'a answers again', { timeoutMs: 20_000 });
    assert.equal(exited, false, 'the worker process kept running');
    assertNoRawException(err, 'worker stderr');
  },
);
