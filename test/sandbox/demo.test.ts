/**
 * `npm run demo` end to end: the built `dist/demo.js` as a child process (the real emulator, worker and demo
 * agent launcher inside it) completes with exit 0, prints every flow in its timeline and summary, never a stack
 * trace or an API key, and removes its state root. Bad flags give a named code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../support/process';

const DEMO = join(ROOT, 'dist/demo.js');

function runDemo(
  args: string[],
  timeoutMs = 45_000,
): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const began = Date.now();
    const child = spawn(process.execPath, [DEMO, ...args], {
      cwd: ROOT,
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo timed out; stdout: ${stdout.slice(-3000)} stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - began });
    });
  });
}

/** Index of the first line matching every pattern, at or after `from`; -1 if none. */
function lineIndex(lines: string[], patterns: RegExp[], from = 0): number {
  for (let i = from; i < lines.length; i++) if (patterns.every((p) => p.test(lines[i]))) return i;
  return -1;
}

test('npm run demo: every flow, in order, exit 0, bounded, clean', { timeout: 60_000 }, async () => {
  assert.ok(existsSync(DEMO), 'dist/demo.js must be built (npm run build)');
  const r = await runDemo([]);
  assert.equal(r.status, 0, `exit status; stderr: ${r.stderr}\nstdout:\n${r.stdout}`);
  assert.ok(r.ms < 30_000, `the demo is bounded (took ${r.ms} ms)`);
  const lines = r.stdout.split('\n');
  const find = (patterns: RegExp[], from = 0, what = patterns.join(' ')) => {
    const i = lineIndex(lines, patterns, from);
    assert.ok(i >= 0, `timeline shows ${what}\n${r.stdout}`);
    return i;
  };

  // Handoff: pending → active, the activation, live items.
  const pending = find([/fix-login/, /instance\.state → pending/]);
  const active = find([/fix-login/, /instance\.state → active/], pending);
  find([/thread_activated/, /Thread fix-login activated/], active);
  for (const kind of ['thinking', 'text', 'tool_call', 'tool_result', 'turn_end'])
    find([/fix-login/, new RegExp(`\\b${kind}\\b`)], active, kind);

  // The approval: a pending prompt, answered from the desktop, the resolved item says so, the tool then ran.
  const approval = find([/fix-login/, /pending_prompt /, /Approval needed: Bash → npm test -- login/]);
  const allowed = find([/fix-login/, /answered approval/, /Allow/], approval);
  const resolved = find(
    [/pending_prompt_resolved/, /answered via desktop: Allowed/, /\[answered_via: desktop\]/],
    allowed,
  );
  find([/fix-login/, /tool_result/, /demo-app@1\.0\.0 test/], resolved, 'the approved command ran');

  // The two-question prompt, answered with one answer per question.
  const questions = find([/fix-login/, /pending_prompt /, /1\) How should an empty password be reported\?/]);
  const answered = find(
    [/answered ask_user_question/, /1\) .* → Inline error; 2\) .* → Empty password, Whitespace-only password/],
    questions,
  );
  find([/pending_prompt_resolved/, /\[answered_via: desktop\]/], answered);

  // The failure, the folder created, the one-click reset, the thread then runs.
  const failed = find([/update-docs/, /instance\.state → failed/]);
  find([/thread_failed/, /Thread update-docs failed: WORK_FOLDER_NOT_FOUND/]);
  const created = find([/update-docs/, /created the missing work folder/], failed);
  const reset = find([/update-docs/, /Reset to pending/], created);
  const again = find([/update-docs/, /instance\.state → active/], failed);
  assert.ok(again > failed && reset > failed);
  find([/update-docs/, /turn_end/], again, 'the reset thread ran its turn');

  // The demo human's reply after the first turn reaches the agent: its next turn answers it.
  const firstEnd = find([/fix-login/, /turn_end/]);
  const reply = find([/fix-login/, /human/, /add a line to the CHANGELOG/], firstEnd);
  find([/fix-login/, /worker/, /\btext\b/, /the CHANGELOG has a line for it/], reply);
  find([/fix-login/, /turn_end/], reply + 1, 'the reply turn ended');

  // Summary, clean stop, nothing leaked, state removed.
  const summary = find([/^Summary \(/]);
  assert.equal(lines.slice(summary + 1).filter((l) => /^ {2}✓ /.test(l)).length, 6, 'six flows checked');
  assert.ok(!r.stdout.includes('✗'), 'no flow missing');
  assert.match(r.stdout, /Every flow ran; the sandbox stopped cleanly\./);
  assert.doesNotMatch(r.stdout + r.stderr, /bhk_[A-Za-z0-9_-]{8,}/, 'no API key printed');
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  const root = /state root (\S+)/.exec(r.stdout)?.[1];
  assert.ok(root && !existsSync(root), `the sandbox state root ${root} was removed`);
});

test(
  'npm run demo: a bad flag is a named USAGE error (exit 2), a short deadline SANDBOX_DEMO_INCOMPLETE (exit 1)',
  { timeout: 60_000 },
  async () => {
    const bad = await runDemo(['--frobnicate']);
    assert.equal(bad.status, 2);
    assert.equal(JSON.parse(bad.stderr.trim().split('\n')[0]).code, 'USAGE');
    const short = await runDemo(['--timeout-ms', '1000']);
    assert.equal(short.status, 1);
    const line = JSON.parse(short.stderr.trim().split('\n')[0]) as { code: string; message: string };
    assert.equal(line.code, 'SANDBOX_DEMO_INCOMPLETE');
    assert.match(line.message, /missing: /);
    assert.match(short.stdout, /✗ /, 'the summary names what was not seen');
    const root = /state root (\S+)/.exec(short.stdout)?.[1];
    assert.ok(root && !existsSync(root), 'stopped and removed even when incomplete');
  },
);
