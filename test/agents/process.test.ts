/**
 * Process plumbing: executable lookup, line framing of huge/partial chunks, thread.log, and stop() leaving no
 * process behind (grandchildren included, SIGKILL when SIGTERM is ignored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveExecutable, ThreadLog } from '../../main/core/agents/index';
import { groupAlive, LineSplitter } from '../../main/core/agents/process';
import { isWorkerError } from '../../main/core/errors';
import { tempDir, waitFor } from '../support/process';
import { FAKE, makeHarness, processAlive } from './helpers';

const T = { timeout: 30_000 };

test('resolveExecutable: absolute path, PATH lookup, and AGENT_EXECUTABLE_NOT_FOUND otherwise', async () => {
  const tmp = await tempDir();
  try {
    const bin = join(tmp.path, 'bin');
    mkdirSync(bin);
    symlinkSync(FAKE.claude_code, join(bin, 'claude'));
    writeFileSync(join(bin, 'codex'), '#!/bin/sh\n');
    chmodSync(join(bin, 'codex'), 0o644); // present but not executable
    mkdirSync(join(bin, 'dir-not-file'));
    assert.equal(resolveExecutable(FAKE.codex, {}), FAKE.codex);
    assert.equal(resolveExecutable('claude', { PATH: `relative/bin:${bin}` }), join(bin, 'claude'));
    const notFound = (fn: () => unknown, re: RegExp): void =>
      assert.throws(fn, (e) => isWorkerError(e, 'AGENT_EXECUTABLE_NOT_FOUND') && re.test(e.message));
    notFound(() => resolveExecutable('codex', { PATH: bin }), /not found on PATH/);
    notFound(() => resolveExecutable('dir-not-file', { PATH: bin }), /not found on PATH/);
    notFound(() => resolveExecutable('claude', {}), /not found on PATH/);
    notFound(() => resolveExecutable(join(bin, 'codex'), {}), /does not exist or is not executable/);
    notFound(() => resolveExecutable('/definitely/not/here/claude', {}), /does not exist/);
    notFound(() => resolveExecutable('bin/claude', { PATH: bin }), /absolute path or a bare command name/);
    notFound(() => resolveExecutable('', { PATH: bin }), /empty/);
  } finally {
    await tmp.cleanup();
  }
});

test('an executable found on PATH through a symlink runs (the fake shim resolves its real location)', T, async () => {
  const tmp = await tempDir();
  const bin = join(tmp.path, 'bin');
  mkdirSync(bin);
  symlinkSync(FAKE.claude_code, join(bin, 'claude'));
  const h = await makeHarness('claude_code', { extra: { executable: resolveExecutable('claude', { PATH: bin }) } });
  try {
    await h.session.start();
    await h.session.sendTurn('hi');
    await h.next('turn_end');
  } finally {
    await h.cleanup();
    await tmp.cleanup();
  }
});

test('LineSplitter: a 1.5 MB line and multi-byte characters split across arbitrary chunks', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l));
  const big = 'é€'.repeat(300_000) + 'end';
  const input = Buffer.from(`first\r\n${big}\n\nlast-without-newline`, 'utf8');
  let i = 0;
  let size = 1;
  while (i < input.length) {
    splitter.push(input.subarray(i, i + size));
    i += size;
    size = (size * 7 + 3) % 65_537 || 1; // odd sizes, so characters get cut in the middle
  }
  assert.deepEqual(
    lines.map((l) => l.length),
    [5, big.length, 0],
  );
  assert.equal(lines[1], big);
  splitter.end();
  assert.equal(lines[3], 'last-without-newline');
});

test('ThreadLog: JSON lines with ts, folder created, mode 0600, order kept, generic worker records', async () => {
  const tmp = await tempDir();
  try {
    const path = join(tmp.path, 'threads', 'a', 'logs', 'thread.log');
    const log = new ThreadLog(path);
    log.append({ src: 'agent', dir: 'stdout', line: '{"type":"x"}' });
    log.append({ ts: '2026-01-01T00:00:00.000Z', src: 'worker', event: 'turn_start', items: ['i1'] });
    log.close();
    log.append({ src: 'agent', dir: 'stdin', line: 'reopened' });
    log.close();
    const records = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(records.length, 3);
    assert.match(records[0].ts, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(Object.keys(records[0]), ['ts', 'src', 'dir', 'line']);
    assert.deepEqual(records[1], { ts: '2026-01-01T00:00:00.000Z', src: 'worker', event: 'turn_start', items: ['i1'] });
    assert.equal(records[2].line, 'reopened');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    await tmp.cleanup();
  }
});

test('stop(): closes stdin, then SIGTERMs the group so a grandchild does not survive', T, async () => {
  const h = await makeHarness('claude_code', { scenario: { grandchild: true } });
  try {
    await h.session.start();
    const pid = h.session.pid!;
    const grandchild = (
      await waitFor(() => h.recorded().find((r) => r.kind === 'grandchild_ready'), 'grandchild ready')
    ).pid as number;
    assert.ok(processAlive(grandchild));
    await h.session.stop({ graceMs: 300, killMs: 3_000 });
    assert.ok(!processAlive(pid), 'agent gone');
    assert.ok(!processAlive(grandchild), 'grandchild gone');
    assert.ok(!groupAlive(pid), 'process group gone');
    assert.deepEqual(h.events.at(-1), { type: 'exit', code: 0, signal: null, lastStderrLine: null, expected: true });
  } finally {
    await h.cleanup();
  }
});

test('stop(): a claude (and its grandchild) ignoring SIGTERM mid-turn is SIGKILLed after killMs', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { ignoreSigterm: true, grandchild: true, default: { steps: [{ sleep: 60_000 }] } },
  });
  try {
    await h.session.start();
    const pid = h.session.pid!;
    await h.session.sendTurn('busy for a minute');
    const grandchild = (
      await waitFor(() => h.recorded().find((r) => r.kind === 'grandchild_ready'), 'grandchild ready')
    ).pid as number;
    const t0 = Date.now();
    await h.session.stop({ graceMs: 100, killMs: 500 });
    const took = Date.now() - t0;
    assert.ok(!processAlive(pid) && !processAlive(grandchild) && !groupAlive(pid), 'everything gone');
    assert.ok(took >= 600 && took < 5_000, `took ${took} ms`);
    assert.ok(
      h.recorded().some((r) => r.kind === 'signal' && r.signal === 'SIGTERM'),
      'SIGTERM was tried first',
    );
    assert.deepEqual(h.events.at(-1), {
      type: 'exit',
      code: null,
      signal: 'SIGKILL',
      lastStderrLine: null,
      expected: true,
    });
  } finally {
    await h.cleanup();
  }
});

test('stop(): codex exits at stdin EOF, but its SIGTERM-proof grandchild still gets SIGKILLed', T, async () => {
  const h = await makeHarness('codex', { scenario: { ignoreSigterm: true, grandchild: true } });
  try {
    await h.session.start();
    const pid = h.session.pid!;
    const grandchild = (
      await waitFor(() => h.recorded().find((r) => r.kind === 'grandchild_ready'), 'grandchild ready')
    ).pid as number;
    const t0 = Date.now();
    await h.session.stop({ graceMs: 2_000, killMs: 400 });
    assert.ok(Date.now() - t0 >= 400, 'waited for SIGTERM before SIGKILL');
    assert.ok(!processAlive(grandchild) && !groupAlive(pid), 'grandchild gone');
    assert.deepEqual(h.events.at(-1), { type: 'exit', code: 0, signal: null, lastStderrLine: null, expected: true });
  } finally {
    await h.cleanup();
  }
});

test('a crashed agent leaves no orphaned grandchild behind', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { grandchild: true, turns: [{ steps: [{ crash: { code: 2, stderr: 'bye' } }] }] },
  });
  try {
    await h.session.start();
    const grandchild = (
      await waitFor(() => h.recorded().find((r) => r.kind === 'grandchild_ready'), 'grandchild ready')
    ).pid as number;
    await h.session.sendTurn('crash now');
    const exit = await h.next('exit');
    assert.equal(exit.code, 2);
    await waitFor(() => !processAlive(grandchild), 'grandchild killed', { timeoutMs: 3_000 });
  } finally {
    await h.cleanup();
  }
});

test(
  'start(): a missing executable or an agent that never answers the handshake fails with AGENT_CRASHED',
  T,
  async () => {
    const tmp = await tempDir();
    try {
      const silent = join(tmp.path, 'silent-agent');
      writeFileSync(silent, '#!/bin/sh\nexec sleep 30\n');
      chmodSync(silent, 0o755);
      const h = await makeHarness('claude_code', { extra: { executable: silent, startTimeoutMs: 300 } });
      try {
        await assert.rejects(
          h.session.start(),
          (e) => isWorkerError(e, 'AGENT_CRASHED') && /no handshake within 300 ms/.test(e.message),
        );
        assert.ok(!groupAlive(h.session.pid!), 'the silent agent was stopped');
      } finally {
        await h.cleanup();
      }
      const gone = await makeHarness('codex', { extra: { executable: join(tmp.path, 'deleted-meanwhile') } });
      try {
        await assert.rejects(
          gone.session.start(),
          (e) => isWorkerError(e, 'AGENT_CRASHED') && /ENOENT/.test(e.message),
        );
      } finally {
        await gone.cleanup();
      }
    } finally {
      await tmp.cleanup();
    }
  },
);
