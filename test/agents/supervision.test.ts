/**
 * Supervision of the agent's whole process tree (docs/agents.md, "Supervision"): a tool the agent started in a
 * session of its own (setsid, out of reach of a process-group kill) is gone after stop() and after a crash; the
 * worker's own exit ends every agent tree it did not stop; an over-long stdout line is cut and logged while the
 * next event still arrives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, waitFor } from '../support/process';
import { makeHarness, processAlive } from './helpers';
import type { AgentProcess } from '../../main/core/agents/process';

const T = { timeout: 60_000 };

/** A grandchild in a session and process group of its own (like `setsid npm run dev`). */
const ESCAPED = { grandchild: { newSession: true } };

async function grandchildPid(recorded: () => Array<Record<string, unknown>>): Promise<number> {
  const r = await waitFor(() => recorded().find((x) => x.kind === 'grandchild_ready'), 'grandchild ready', {
    timeoutMs: 15_000,
  });
  return r.pid as number;
}

test('stop(): a grandchild that left the process group (setsid) is gone too', T, async () => {
  const h = await makeHarness('claude_code', { scenario: ESCAPED });
  let grandchild = 0;
  try {
    await h.session.start();
    grandchild = await grandchildPid(() => h.recorded());
    assert.ok(processAlive(grandchild));
    await h.session.stop({ graceMs: 300, killMs: 3_000 });
    assert.ok(!processAlive(h.session.pid!), 'agent gone');
    assert.ok(!processAlive(grandchild), 'escaped grandchild gone');
  } finally {
    if (grandchild && processAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    await h.cleanup();
  }
});

test('crash: the orphans of an agent killed from outside are found and killed', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: {
      turns: [{ steps: [{ grandchild: { newSession: true } }, { text: 'tool started' }, { sleep: 60_000 }] }],
    },
  });
  let grandchild = 0;
  try {
    await h.session.start();
    await h.session.sendTurn('start a dev server');
    await h.next('text', (e) => e.text === 'tool started', 15_000);
    grandchild = await grandchildPid(() => h.recorded());
    // The worker has seen the tool (refreshes follow stdout lines and run every second) before the agent dies.
    const proc = (h.session as unknown as { proc: AgentProcess }).proc;
    await waitFor(() => proc.knownDescendants().includes(grandchild), 'grandchild remembered', { timeoutMs: 5_000 });
    // The agent dies (OOM killer, a user's kill -9): its grandchild is re-parented, no parent link leads to it.
    process.kill(h.session.pid!, 'SIGKILL');
    const exit = await h.next('exit', undefined, 15_000);
    assert.equal(exit.expected, false);
    await waitFor(() => !processAlive(grandchild), 'orphaned grandchild killed', { timeoutMs: 5_000 });
  } finally {
    if (grandchild && processAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    await h.cleanup();
  }
});

test('worker exit: a process that exits without stopping its agents takes their trees along', T, async () => {
  // A child Node process starts a fake agent (with an in-group and an escaped grandchild) and exits at once.
  const dir = join(ROOT, 'test', 'agents', 'fixtures');
  const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'exit-without-stop.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    agent: number;
    grandchildren: number[];
    dir: string;
  };
  try {
    assert.equal(report.grandchildren.length, 2, stdout);
    await waitFor(
      () => !processAlive(report.agent) && report.grandchildren.every((p) => !processAlive(p)),
      'agent and grandchildren gone after the worker exited',
      { timeoutMs: 5_000 },
    );
  } finally {
    for (const p of [report.agent, ...report.grandchildren]) if (processAlive(p)) process.kill(p, 'SIGKILL');
    rmSync(report.dir, { recursive: true, force: true });
  }
});

test('a 20 MiB stdout line is cut and logged (agent_line_too_long); the next event still arrives', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { default: { steps: [{ longLine: { bytes: 20 * 1024 * 1024 } }, { text: 'after the long line' }] } },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('print a long line');
    await h.next('text', (e) => e.text === 'after the long line', 30_000);
    await h.next('turn_end', undefined, 30_000);
    const records = readFileSync(h.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const cut = records.filter((r) => r.event === 'agent_line_too_long');
    assert.equal(cut.length, 1, 'one agent_line_too_long record');
    assert.equal(cut[0].dir, 'stdout');
    assert.equal(cut[0].bytes, 20 * 1024 * 1024);
    assert.equal(cut[0].limit, 16 * 1024 * 1024);
    assert.equal(cut[0].head, 'x'.repeat(1024));
    const longest = Math.max(...records.filter((r) => r.dir === 'stdout').map((r) => String(r.line).length));
    assert.ok(longest < 1024 * 1024, `no stdout record carries the long line (longest ${longest})`);
  } finally {
    await h.cleanup();
  }
});
