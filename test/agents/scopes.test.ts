/**
 * Approval scopes, plans and diffs through the adapters against the fake agents (protocol §9.2a), with the wire
 * checked against captures of the real CLIs: Claude's fixture 18 (`updatedPermissions` re-scoped to `session`)
 * and Codex's appserver-01 (the requestApproval shape; `acceptForSession` is one of its decisions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseThreadAnswer } from '../../main/core/agents/answers';
import type { AgentPrompt } from '../../main/core/agents/types';
import { makeHarness } from './helpers';
import { loadFixture } from './replay';

const T = { timeout: 30_000 };
type Line = Record<string, any>;

const touch = (file: string) => ({
  steps: [
    { tool: { name: 'Bash', input: { command: `touch ${file}`, description: 'Create a file' }, output: '' } },
    { text: 'Done.' },
  ],
});

function approvalOf(p: AgentPrompt): Extract<AgentPrompt, { kind: 'approval' }> {
  assert.equal(p.kind, 'approval');
  return p;
}

test(
  'claude: "always" sends the addRules suggestions re-scoped to session; the same command then runs unasked, another asks',
  T,
  async () => {
    const h = await makeHarness('claude_code', {
      scenario: { markers: { DO_TOUCH: touch('a.txt'), DO_OTHER: touch('b.txt') } },
    });
    try {
      await h.session.start();
      await h.session.sendTurn('DO_TOUCH');
      const prompt = approvalOf((await h.next('prompt')).prompt);
      assert.deepEqual(prompt.session_rules, ['Bash(touch a.txt)']);
      const answer = parseThreadAnswer(prompt, 'always');
      assert.deepEqual(answer, { kind: 'approval', decision: 'allow', scope: 'session', rules: ['Bash(touch a.txt)'] });
      await h.session.answerPrompt(prompt.id, answer);
      await h.next('turn_end');
      // What we wrote is what the capture driver wrote to the real CLI in fixture 18.
      const sent = (h.stdinLines() as Line[]).find((l) => l.type === 'control_response')!.response.response;
      const real = loadFixture('claude/18-always-allow-session-rule.jsonl').find(
        (r) => r.dir === 'stdin' && r.msg?.type === 'control_response',
      )!.msg as Line;
      assert.deepEqual(Object.keys(sent), Object.keys(real.response.response));
      assert.deepEqual(sent.updatedPermissions, [
        {
          type: 'addRules',
          rules: [{ toolName: 'Bash', ruleContent: 'touch a.txt' }],
          behavior: 'allow',
          destination: 'session',
        },
      ]);
      assert.deepEqual(sent.updatedPermissions, real.response.response.updatedPermissions);

      await h.session.sendTurn('DO_TOUCH again');
      await h.next('turn_end', undefined, 10_000).then(() => h.next('turn_end', () => true));
      await waitTurns(h, 2);
      assert.equal(h.events.filter((e) => e.type === 'prompt').length, 1, 'the same command ran without a prompt');
      await h.session.sendTurn('DO_OTHER');
      const other = approvalOf((await h.next('prompt', (e) => e.prompt.id !== prompt.id)).prompt);
      assert.equal((other.tool.input as { command: string }).command, 'touch b.txt');
      await h.session.answerPrompt(other.id, parseThreadAnswer(other, 'yes'));
      await waitTurns(h, 3);
      const ran = h
        .recorded()
        .filter((r) => r.kind === 'tool_ran')
        .map((r) => [(r.input as Line).command, r.rule ?? null]);
      assert.deepEqual(ran, [
        ['touch a.txt', null],
        ['touch a.txt', 'user_temporary'],
        ['touch b.txt', null],
      ]);
      assert.equal(existsSync(join(h.dir, '.claude')), false, 'no settings file written in the work folder');
    } finally {
      await h.cleanup();
    }
  },
);

async function waitTurns(h: Awaited<ReturnType<typeof makeHarness>>, n: number): Promise<void> {
  await h.next('turn_end', () => h.events.filter((e) => e.type === 'turn_end').length >= n, 10_000);
}

test(
  'claude: granted rules come back on respawn as --add-dir <work folder> + --allowedTools, and are honoured',
  T,
  async () => {
    const first = await makeHarness('claude_code', { scenario: { markers: { DO_TOUCH: touch('a.txt') } } });
    try {
      await first.session.start();
      await first.session.sendTurn('hello'); // the fake keeps a session once it has had a turn
      await first.next('turn_end');
      const sid = first.session.sessionId!;
      await first.session.stop();
      const h = await makeHarness('claude_code', {
        scenario: { markers: { DO_TOUCH: touch('a.txt') } },
        stateDir: first.stateDir,
        resumeSessionId: sid,
        extra: { grantedRules: ['Bash(touch a.txt)', 'Bash(echo a, b)'] },
      });
      try {
        await h.session.start();
        const argv = h.recorded().find((r) => r.kind === 'argv')!.argv as string[];
        const i = argv.indexOf('--add-dir');
        assert.deepEqual(argv.slice(i), [
          '--add-dir',
          h.dir,
          '--allowedTools',
          'Bash(touch a.txt)',
          '--allowedTools',
          'Bash(echo a, b)',
        ]);
        await h.session.sendTurn('DO_TOUCH');
        await h.next('turn_end');
        assert.equal(h.events.filter((e) => e.type === 'prompt').length, 0);
        assert.equal(h.recorded().find((r) => r.kind === 'tool_ran')?.rule, 'config');
      } finally {
        await h.cleanup();
      }
    } finally {
      await first.cleanup();
    }
  },
);

test('claude: a tool with no addRules suggestion (Write) is allowed once on "always", and says so', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: {
      turns: [
        { steps: [{ tool: { name: 'Write', input: { file_path: 'new.txt', content: 'a\nb\n' } } }, { text: 'ok' }] },
      ],
    },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    const prompt = approvalOf((await h.next('prompt')).prompt);
    assert.equal(prompt.session_rules, undefined);
    assert.equal(prompt.diff, '--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    assert.equal(prompt.diff_summary, '+2 −0 new.txt');
    const answer = parseThreadAnswer(prompt, 'always');
    assert.equal(answer.kind === 'approval' && answer.scope, 'once');
    await h.session.answerPrompt(prompt.id, answer);
    await h.next('turn_end');
    const sent = (h.stdinLines() as Line[]).find((l) => l.type === 'control_response')!.response.response;
    assert.deepEqual(Object.keys(sent), ['behavior', 'updatedInput']);
  } finally {
    await h.cleanup();
  }
});

test('claude: an Edit prompt carries the diff against the file on disk', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: {
      turns: [
        { steps: [{ tool: { name: 'Edit', input: { file_path: 'f.txt', old_string: 'two', new_string: 'TWO' } } }] },
      ],
    },
  });
  try {
    writeFileSync(join(h.dir, 'f.txt'), 'one\ntwo\nthree\n');
    await h.session.start();
    await h.session.sendTurn('go');
    const prompt = approvalOf((await h.next('prompt')).prompt);
    assert.equal(prompt.diff, '--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n');
    assert.equal(prompt.diff_summary, '+1 −1 f.txt');
  } finally {
    await h.cleanup();
  }
});

test(
  'claude: ExitPlanMode is a plan prompt with the plan from the tool_use; keep planning, then approve',
  T,
  async () => {
    const h = await makeHarness('claude_code', {
      scenario: {
        turns: [
          {
            steps: [{ enterPlanMode: true }, { plan: '# Plan\n\n1. A' }, { plan: '# Plan v2\n\n1. B' }, { text: 'ok' }],
          },
        ],
      },
    });
    try {
      await h.session.start();
      await h.session.sendTurn('plan it');
      const first = (await h.next('prompt')).prompt;
      assert.equal(first.kind, 'plan');
      assert.equal(first.kind === 'plan' && first.plan, '# Plan\n\n1. A');
      await h.session.answerPrompt(first.id, parseThreadAnswer(first, 'Add a test first'));
      const second = (await h.next('prompt', (e) => e.prompt.id !== first.id)).prompt;
      assert.equal(second.kind === 'plan' && second.plan, '# Plan v2\n\n1. B');
      await h.session.answerPrompt(second.id, parseThreadAnswer(second, 'yes'));
      await h.next('turn_end');
      const answered = h
        .recorded()
        .filter((r) => r.kind === 'plan_answered')
        .map(({ pid: _pid, ...r }) => r);
      assert.deepEqual(answered, [
        { kind: 'plan_answered', behavior: 'deny', message: 'Add a test first' },
        { kind: 'plan_answered', behavior: 'allow' },
      ]);
      // The wire matches fixture 20: deny with the message, allow echoing the (empty) request input.
      const responses = (h.stdinLines() as Line[])
        .filter((l) => l.type === 'control_response')
        .map((l) => l.response.response);
      assert.deepEqual(responses, [
        { behavior: 'deny', message: 'Add a test first' },
        { behavior: 'allow', updatedInput: {} },
      ]);
    } finally {
      await h.cleanup();
    }
  },
);

test(
  'claude: interrupt while a prompt is open: the request is withdrawn and the turn ends interrupted',
  T,
  async () => {
    const h = await makeHarness('claude_code', { scenario: { markers: { DO_TOUCH: touch('a.txt') } } });
    try {
      await h.session.start();
      await h.session.sendTurn('DO_TOUCH');
      const prompt = (await h.next('prompt')).prompt;
      await h.session.interrupt();
      const cancelled = await h.next('prompt_cancelled');
      assert.equal(cancelled.promptId, prompt.id);
      const end = await h.next('turn_end');
      assert.equal(end.usage.outcome, 'interrupted');
      await h.session.sendTurn('hello');
      const next = await h.next('turn_end', (e) => e !== end);
      assert.equal(next.usage.outcome, 'completed');
    } finally {
      await h.cleanup();
    }
  },
);

test(
  'codex: "always" answers acceptForSession; the same command then runs without a request (appserver-01 shapes)',
  T,
  async () => {
    const shell = {
      steps: [{ command: { command: 'echo x > approved.txt && echo ok', output: 'ok\n' } }, { text: 'Done.' }],
    };
    const h = await makeHarness('codex', {
      scenario: { markers: { DO_SHELL: shell, DO_PATCH: { steps: [{ patch: {} }, { text: 'ok' }] } } },
    });
    try {
      await h.session.start();
      await h.session.sendTurn('DO_SHELL');
      const prompt = approvalOf((await h.next('prompt')).prompt);
      assert.deepEqual(prompt.session_rules, ["commandExecution(/bin/bash -lc 'echo x > approved.txt && echo ok')"]);
      await h.session.answerPrompt(prompt.id, parseThreadAnswer(prompt, 'always'));
      await h.next('turn_end');
      // The request the fake sent has the real one's keys and decisions (appserver-01), the answer is acceptForSession.
      const realReq = loadFixture('codex/appserver-01-command-and-patch-approved.jsonl').find(
        (r) => r.dir === 'stdout' && r.msg?.method === 'item/commandExecution/requestApproval',
      )!.msg as Line;
      const log = h.stdinLines() as Line[];
      const answer = log.find((l) => l.result?.decision !== undefined)!;
      assert.deepEqual(answer.result, { decision: 'acceptForSession' });
      const fakeReq = (await import('node:fs'))
        .readFileSync(h.logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line)
        .filter((r) => r.dir === 'stdout')
        .map((r) => JSON.parse(r.line as string) as Line)
        .find((m) => m.method === 'item/commandExecution/requestApproval')!;
      assert.deepEqual(Object.keys(fakeReq.params), Object.keys(realReq.params));
      assert.deepEqual(
        fakeReq.params.availableDecisions.map((d: unknown) =>
          typeof d === 'string' ? d : Object.keys(d as object)[0],
        ),
        realReq.params.availableDecisions.map((d: unknown) =>
          typeof d === 'string' ? d : Object.keys(d as object)[0],
        ),
      );
      await h.session.sendTurn('DO_SHELL again');
      await waitTurns(h, 2);
      assert.equal(h.events.filter((e) => e.type === 'prompt').length, 1);
      assert.equal(h.recorded().filter((r) => r.kind === 'tool_ran').length, 2);

      // A file change: the diff from the item, once vs session.
      await h.session.sendTurn('DO_PATCH');
      const patch = approvalOf((await h.next('prompt', (e) => e.prompt.id !== prompt.id)).prompt);
      assert.equal(patch.diff_summary, '+1 −0 patched.txt');
      assert.equal(patch.diff, '--- /dev/null\n+++ b/patched.txt\n@@ -0,0 +1,1 @@\n+patched line\n');
      await h.session.answerPrompt(patch.id, parseThreadAnswer(patch, 'yes'));
      await waitTurns(h, 3);
      assert.deepEqual(
        (h.stdinLines() as Line[]).filter((l) => l.result?.decision !== undefined).map((l) => l.result.decision),
        ['acceptForSession', 'accept'],
      );
    } finally {
      await h.cleanup();
    }
  },
);
