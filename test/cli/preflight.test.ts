/**
 * `blobhub-worker start` preflight (protocol §2): every code with its exit status and its one
 * JSON stderr line, the lock's life cycle, and "nothing on the server touched" via the emulator's counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import YAML from 'yaml';
import { runCli, spawnCli, waitExit, waitFor } from '../support/process';
import { cliWorld, expectCode, ready, type CliWorld } from './helpers';

const lockPath = (w: CliWorld): string => join(w.home, 'instance.yaml');

function assertUntouched(w: CliWorld): void {
  const c = w.emu.control.counters();
  assert.equal(c.requests, 0, `server touched: ${JSON.stringify(c.byCommand)}`);
}

/** Only `GET /users/me`, nothing mutating. */
function assertOnlyUsersMe(w: CliWorld): void {
  const c = w.emu.control.counters();
  assert.deepEqual(Object.keys(c.byCommand), ['users/me'], JSON.stringify(c.byCommand));
  assert.equal(c.mutating, 0);
}

async function started(w: CliWorld, json = true) {
  const child = spawnCli(['start', ...(json ? ['--json'] : [])], { home: w.home });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = waitExit(child);
  await waitFor(() => stdout.includes('\n') || child.exitCode !== null, 'start to report', { timeoutMs: 15_000 });
  return { child, exited, out: () => stdout, err: () => stderr };
}

test('start without credentials.yaml: CREDENTIALS_NOT_FOUND (10), nothing touched, no lock', async (t) => {
  const w = await cliWorld(t);
  expectCode(await runCli(['start'], { home: w.home }), 'CREDENTIALS_NOT_FOUND', 10);
  assertUntouched(w);
  assert.ok(!existsSync(lockPath(w)));
});

test('start with a group/other bit on credentials.yaml: INSECURE_CREDENTIALS_PERMISSIONS (11)', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  w.emu.control.resetCounters();
  for (const m of [0o640, 0o604, 0o644, 0o620]) {
    await chmod(join(w.home, 'credentials.yaml'), m);
    const line = expectCode(await runCli(['start'], { home: w.home }), 'INSECURE_CREDENTIALS_PERMISSIONS', 11);
    assert.match(line.message, /credentials\.yaml/);
  }
  assertUntouched(w);
  assert.ok(!existsSync(lockPath(w)));
});

test('start without identity.yaml: IDENTITY_NOT_FOUND (12)', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  await rm(join(w.home, 'identity.yaml'));
  w.emu.control.resetCounters();
  expectCode(await runCli(['start'], { home: w.home }), 'IDENTITY_NOT_FOUND', 12);
  assertUntouched(w);
  assert.ok(!existsSync(lockPath(w)));
});

test('start with a rejected key: AUTH_INVALID (14), only /users/me touched, the lock removed again', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  w.emu.control.resetCounters();
  w.emu.control.setAuth(w.user.user_id, 401);
  expectCode(await runCli(['start'], { home: w.home }), 'AUTH_INVALID', 14);
  assertOnlyUsersMe(w);
  assert.ok(!existsSync(lockPath(w)), 'lock released after a failure past step 3');
  w.emu.control.setAuth(w.user.user_id, 403);
  expectCode(await runCli(['start'], { home: w.home }), 'AUTH_INVALID', 14);
  assert.ok(!existsSync(lockPath(w)));
});

test('start when the key now belongs to another user: USER_IDENTITY_MISMATCH (13), lock removed', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const idPath = join(w.home, 'identity.yaml');
  const id = YAML.parse(await readFile(idPath, 'utf8'));
  id.user.user_id = 'usr_somebody_else';
  await writeFile(idPath, YAML.stringify(id));
  w.emu.control.resetCounters();
  const line = expectCode(await runCli(['start'], { home: w.home }), 'USER_IDENTITY_MISMATCH', 13);
  assert.match(line.message, /usr_somebody_else/);
  assertOnlyUsersMe(w);
  assert.ok(!existsSync(lockPath(w)));
});

test('start when the API is unreachable or keeps failing: API_NETWORK_ERROR (20), lock removed, nothing mutated', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  w.emu.control.resetCounters();
  w.emu.control.addFault({ command: 'users/me', kind: 'drop_before' });
  expectCode(await runCli(['start'], { home: w.home }), 'API_NETWORK_ERROR', 20);
  assert.ok(!existsSync(lockPath(w)));
  // Preflight does not retry forever: one attempt and two quick retries.
  assert.equal(w.emu.control.counters().byCommand['users/me'], 3);
  w.emu.control.clearFaults();
  w.emu.control.addFault({ command: 'users/me', kind: 'status', status: 503 });
  expectCode(await runCli(['start'], { home: w.home }), 'API_NETWORK_ERROR', 20);
  assertOnlyUsersMe(w);
  assert.ok(!existsSync(lockPath(w)));
});

test('start survives one transient /users/me failure (quick retry)', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  w.emu.control.addFault({ command: 'users/me', kind: 'status', status: 500, times: 1 });
  const s = await started(w);
  assert.match(s.out(), /"event":"started"/, s.err());
  s.child.kill('SIGTERM');
  assert.equal((await s.exited).status, 0);
});

test('start: runs until SIGTERM/SIGINT, holds a well-formed lock, stops cleanly removing it (exit 0)', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    w.emu.control.resetCounters();
    const s = await started(w);
    const ready1 = JSON.parse(s.out().trim().split('\n')[0]);
    assert.equal(ready1.event, 'started');
    assert.equal(ready1.user_id, w.user.user_id);
    const lock = YAML.parse(await readFile(lockPath(w), 'utf8'));
    assert.equal(lock.instance.pid, s.child.pid);
    assert.match(lock.instance.instance_id, /^ins_[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(lock.instance.instance_id, ready1.instance_id);
    assert.equal(lock.instance.version, '0.1.0');
    assert.ok(lock.instance.host);
    assert.match(lock.instance.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // stderr carries JSON log lines only.
    for (const l of s.err().split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(l), l);
    assert.ok(!s.err().includes(w.user.api_key) && !s.out().includes(w.user.api_key));
    // Past preflight the harness attaches the section, so more than /users/me is expected here.
    assert.ok((w.emu.control.counters().byCommand['users/me'] ?? 0) >= 1);

    s.child.kill(sig);
    const exit = await s.exited;
    assert.equal(exit.status, 0, `${sig}: ${s.err()}`);
    assert.ok(!existsSync(lockPath(w)), `lock removed after ${sig}`);
    assert.match(s.err(), /"event":"stopped"/);
  }
});

test('start: a signal during preflight still stops cleanly (exit 0, lock removed), never a kill-by-signal', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  // /users/me answers slowly, so the signal lands while preflight is still running.
  w.emu.control.addFault({ command: 'users/me', kind: 'latency', latencyMs: 1_500, times: 1 });
  w.emu.control.resetCounters();
  const child = spawnCli(['start'], { home: w.home });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = waitExit(child);
  await waitFor(() => (w.emu.control.counters().byCommand['users/me'] ?? 0) >= 1, 'preflight reached /users/me', {
    timeoutMs: 15_000,
  });
  child.kill('SIGTERM');
  const exit = await exited;
  assert.equal(exit.signal, null, `not killed by the signal: ${stderr}`);
  assert.equal(exit.status, 0, stderr);
  assert.ok(!existsSync(lockPath(w)), 'lock removed');
  assert.match(stderr, /"event":"stopped"/);
  assert.doesNotMatch(stderr, /"event":"started"/, 'asked to stop before it ran: no started line');
});

test('lock: a live pid in instance.yaml is WORKER_ALREADY_RUNNING (15); the file is left alone', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  const text = YAML.stringify({
    instance: {
      instance_id: 'ins_01JOTHERWORKER0000000000000',
      pid: sleeper.pid,
      host: 'elsewhere',
      version: '0.1.0',
      started_at: '2026-01-01T00:00:00Z',
    },
  });
  await writeFile(lockPath(w), text);
  w.emu.control.resetCounters();
  const line = expectCode(await runCli(['start'], { home: w.home }), 'WORKER_ALREADY_RUNNING', 15);
  assert.match(line.message, new RegExp(`pid ${sleeper.pid}`));
  assertUntouched(w);
  assert.equal(await readFile(lockPath(w), 'utf8'), text);
});

test('lock: a second start while one runs is WORKER_ALREADY_RUNNING (15) and does not disturb the first', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const first = await started(w);
  t.after(() => first.child.kill('SIGKILL'));
  const lockBefore = await readFile(lockPath(w), 'utf8');
  expectCode(await runCli(['start'], { home: w.home }), 'WORKER_ALREADY_RUNNING', 15);
  assert.equal(await readFile(lockPath(w), 'utf8'), lockBefore);
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).status, 0);
  assert.ok(!existsSync(lockPath(w)));
});

test('lock: a dead pid or a garbled instance.yaml is stale and replaced', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await waitExit(dead);
  const stale = [
    YAML.stringify({
      instance: {
        instance_id: 'ins_OLD',
        pid: dead.pid,
        host: 'h',
        version: '0.0.1',
        started_at: '2026-01-01T00:00:00Z',
      },
    }),
    'instance: [this is: not, a lock',
    '',
  ];
  for (const text of stale) {
    await writeFile(lockPath(w), text);
    const s = await started(w);
    assert.match(s.out(), /"event":"started"/, s.err());
    const lock = YAML.parse(await readFile(lockPath(w), 'utf8'));
    assert.equal(lock.instance.pid, s.child.pid);
    assert.match(s.err(), /stale_lock_replaced/);
    s.child.kill('SIGTERM');
    assert.equal((await s.exited).status, 0);
    assert.ok(!existsSync(lockPath(w)));
  }
});

test('start: an unknown flag or argument is a usage error (2), no lock, nothing touched', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  w.emu.control.resetCounters();
  expectCode(await runCli(['start', '--dashboard'], { home: w.home }), 'USAGE', 2);
  expectCode(await runCli(['start', 'now'], { home: w.home }), 'USAGE', 2);
  assertUntouched(w);
  assert.ok(!existsSync(lockPath(w)));
});
