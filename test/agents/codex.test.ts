/**
 * The Codex adapter against the fake `codex app-server` (a real child process), in both permission modes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseThreadAnswer } from '../../main/core/agents/answers';
import { isWorkerError } from '../../main/core/errors';
import { kinds, makeHarness } from './helpers';

const T = { timeout: 30_000 };
const SHELL = { command: 'echo x > approved.txt && echo ok', output: 'ok\n' };

type Rpc = {
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: unknown;
};
const rpc = (lines: unknown[]): Rpc[] => lines as Rpc[];
const requests = (lines: unknown[], method: string): Rpc[] => rpc(lines).filter((l) => l.method === method);

test(
  'handshake and a text turn: initialize → initialized → thread/start with the approval policy; effort per turn',
  T,
  async () => {
    const h = await makeHarness('codex', {
      permissions: 'approval',
      model: 'gpt-5.5',
      effort: 'high',
      scenario: {
        turns: [
          {
            steps: [{ thinking: '**Planning**' }, { text: 'Hello.' }],
            usage: { inputTokens: 300, cachedInputTokens: 120, outputTokens: 40 },
          },
        ],
      },
    });
    try {
      await h.session.start();
      assert.match(h.session.sessionId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      assert.deepEqual(h.events, [{ type: 'session', sessionId: h.session.sessionId }]);
      await h.session.sendTurn('Say hello');
      const end = await h.next('turn_end');
      assert.deepEqual(kinds(h.events), ['session', 'thinking', 'text', 'turn_end']);
      assert.deepEqual(h.events[2], { type: 'text', text: 'Hello.' });
      assert.deepEqual(
        { ...end.usage, duration_ms: 0 },
        {
          input_tokens: 300,
          input_tokens_cached: 120,
          output_tokens: 40,
          duration_ms: 0,
          stop_reason: 'completed',
          is_error: false,
          outcome: 'completed',
        },
      );
      const argv = h.recorded().find((r) => r.kind === 'argv')!.argv;
      assert.deepEqual(argv, ['app-server']);
      const stdin = rpc(h.stdinLines());
      assert.deepEqual(
        stdin.map((l) => l.method),
        ['initialize', 'initialized', 'thread/start', 'turn/start'],
      );
      assert.equal('jsonrpc' in stdin[0], false);
      assert.deepEqual(stdin[0].params, {
        clientInfo: { name: 'blobhub_worker', title: 'BlobHub Worker', version: '0.1.0' },
        capabilities: null,
      });
      assert.deepEqual(stdin[1], { method: 'initialized' });
      assert.deepEqual(stdin[2].params, {
        cwd: h.dir,
        approvalPolicy: 'untrusted',
        sandbox: 'workspace-write',
        model: 'gpt-5.5',
      });
      assert.deepEqual(stdin[3].params, {
        threadId: h.session.sessionId,
        input: [{ type: 'text', text: 'Say hello', text_elements: [] }],
        effort: 'high',
      });
    } finally {
      await h.cleanup();
    }
  },
);

for (const decision of ['allow', 'deny'] as const) {
  test(
    `approval mode: requestApproval → prompt; ${decision} → ${decision === 'allow' ? 'accept' : 'decline'}`,
    T,
    async () => {
      const h = await makeHarness('codex', {
        permissions: 'approval',
        scenario: { markers: { DO_SHELL: { steps: [{ command: SHELL }, { text: 'Done.' }] } } },
      });
      try {
        await h.session.start();
        await h.session.sendTurn('DO_SHELL now');
        const call = await h.next('tool_call');
        assert.deepEqual(call, {
          type: 'tool_call',
          name: 'commandExecution',
          invocationId: call.invocationId,
          input: { command: `/bin/bash -lc '${SHELL.command}'`, cwd: h.dir },
        });
        const { prompt } = await h.next('prompt');
        assert.deepEqual(
          { ...prompt, id: 'x' },
          {
            id: 'x',
            kind: 'approval',
            tool: { name: 'commandExecution', invocation_id: call.invocationId, input: call.input },
            session_rules: [`commandExecution(${(call.input as { command: string }).command})`],
          },
        );
        await h.session.answerPrompt(prompt.id, parseThreadAnswer(prompt, decision === 'allow' ? 'ok' : 'no'));
        const result = await h.next('tool_result');
        await h.next('turn_end');
        const answer = rpc(h.stdinLines()).find((l) => l.method === undefined && l.result && 'decision' in l.result);
        assert.deepEqual(answer, { id: 0, result: { decision: decision === 'allow' ? 'accept' : 'decline' } });
        if (decision === 'allow')
          assert.deepEqual(result, {
            type: 'tool_result',
            invocationId: call.invocationId,
            output: 'ok\n',
            isError: false,
          });
        else
          assert.deepEqual(result, {
            type: 'tool_result',
            invocationId: call.invocationId,
            output: 'Declined by the user',
            isError: true,
          });
      } finally {
        await h.cleanup();
      }
    },
  );
}

test(
  'approval mode: a patch asks too; the prompt carries the paths and diffs; result lists the change',
  T,
  async () => {
    const changes = [{ path: '/w/patched.txt', kind: 'add', diff: 'patched line\n' }];
    const h = await makeHarness('codex', { scenario: { turns: [{ steps: [{ patch: { changes } }] }] } });
    try {
      await h.session.start();
      await h.session.sendTurn('patch it');
      const { prompt } = await h.next('prompt');
      assert.equal(prompt.kind, 'approval');
      if (prompt.kind !== 'approval') return;
      assert.deepEqual(prompt.tool.name, 'fileChange');
      assert.deepEqual(prompt.tool.input, { changes });
      await h.session.answerPrompt(prompt.id, { kind: 'approval', decision: 'allow' });
      const result = await h.next('tool_result');
      assert.deepEqual(result, {
        type: 'tool_result',
        invocationId: prompt.tool.invocation_id,
        output: 'completed:\nadd /w/patched.txt',
        isError: false,
      });
    } finally {
      await h.cleanup();
    }
  },
);

test('autonomous mode: never + danger-full-access; codex never asks', T, async () => {
  const h = await makeHarness('codex', {
    permissions: 'autonomous',
    scenario: { turns: [{ steps: [{ command: SHELL }, { patch: {} }, { text: 'ok' }] }] },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    await h.next('turn_end');
    assert.deepEqual(kinds(h.events), [
      'session',
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
      'text',
      'turn_end',
    ]);
    const start = requests(h.stdinLines(), 'thread/start')[0];
    assert.deepEqual(start.params, { cwd: h.dir, approvalPolicy: 'never', sandbox: 'danger-full-access' });
    assert.equal(h.recorded().filter((r) => r.kind === 'tool_ran').length, 2);
  } finally {
    await h.cleanup();
  }
});

test('requestUserInput: ask_user_question prompt; answers keyed by question id', T, async () => {
  const questions = [
    {
      id: 'target',
      header: 'Target',
      question: 'Where to deploy?',
      options: [
        { label: 'staging', description: 'push to staging' },
        { label: 'production', description: 'push to www' },
      ],
    },
    { id: 'note', header: 'Note', question: 'Any note?', options: null },
  ];
  const h = await makeHarness('codex', {
    permissions: 'autonomous',
    scenario: { turns: [{ steps: [{ ask: { questions } }, { text: 'thanks' }] }] },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('ask');
    const { prompt } = await h.next('prompt');
    assert.deepEqual(
      { ...prompt, id: 'x' },
      {
        id: 'x',
        kind: 'ask_user_question',
        questions: [
          {
            question: 'Where to deploy?',
            header: 'Target',
            multi_select: false,
            options: [
              { label: 'staging', description: 'push to staging' },
              { label: 'production', description: 'push to www' },
            ],
          },
          { question: 'Any note?', header: 'Note', multi_select: false, options: [] },
        ],
      },
    );
    await h.session.answerPrompt(prompt.id, parseThreadAnswer(prompt, '1) 2\n2) ship it friday'));
    await h.next('turn_end');
    const answered = h.recorded().find((r) => r.kind === 'user_input_answered');
    assert.deepEqual(answered?.response, {
      answers: { target: { answers: ['production'] }, note: { answers: ['ship it friday'] } },
    });
  } finally {
    await h.cleanup();
  }
});

test('a 1 MB command output arrives whole; garbage and unknown lines are skipped and logged', T, async () => {
  const h = await makeHarness('codex', {
    permissions: 'autonomous',
    scenario: {
      turns: [
        {
          steps: [
            { garbage: '<<not json>>' },
            { unknown: true },
            { raw: '"a string"' },
            { command: { command: 'cat big', outputBytes: 1_048_576 } },
          ],
        },
      ],
    },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    const result = await h.next('tool_result');
    assert.equal(result.output.length, 1_048_576);
    await h.next('turn_end');
    const logged = readFileSync(h.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.ok(logged.some((r) => r.dir === 'stdout' && r.line === '<<not json>>'));
    assert.deepEqual(
      logged.filter((r) => r.event === 'agent_line_skipped').map((r) => r.reason),
      ['not JSON', 'not a JSON object'],
    );
  } finally {
    await h.cleanup();
  }
});

test('slow turn + interrupt: turn/interrupt with the turn id; turn_end interrupted; next turn works', T, async () => {
  const h = await makeHarness('codex', { scenario: { markers: { DO_SLOW: { steps: [{ sleep: 20_000 }] } } } });
  try {
    await h.session.start();
    await h.session.sendTurn('DO_SLOW hello');
    await new Promise((r) => setTimeout(r, 200));
    await h.session.interrupt();
    const end = await h.next('turn_end');
    assert.equal(end.usage.outcome, 'interrupted');
    assert.equal(end.usage.is_error, true);
    const interrupt = requests(h.stdinLines(), 'turn/interrupt')[0];
    assert.equal(interrupt.params!.threadId, h.session.sessionId);
    assert.equal(typeof interrupt.params!.turnId, 'string');
    await h.session.sendTurn('next');
    await h.next('text', (e) => e.text === 'Hello! You said: next');
  } finally {
    await h.cleanup();
  }
});

test('turns sent while one runs are queued and started one after another', T, async () => {
  const h = await makeHarness('codex', { scenario: { default: { steps: [{ sleep: 150 }, { text: 'ok' }] } } });
  try {
    await h.session.start();
    await h.session.sendTurn('one');
    await h.session.sendTurn('two');
    assert.equal(h.session.busy, true);
    await h.next('turn_end', () => h.events.filter((e) => e.type === 'turn_end').length === 2);
    assert.equal(h.session.busy, false);
    assert.deepEqual(
      requests(h.stdinLines(), 'turn/start').map((r) => (r.params!.input as Array<{ text: string }>)[0].text),
      ['one', 'two'],
    );
    assert.ok(h.events.every((e) => e.type !== 'turn_end' || e.usage.outcome === 'completed'));
  } finally {
    await h.cleanup();
  }
});

test('api error: status error + failed turn_end', T, async () => {
  const h = await makeHarness('codex', {
    scenario: {
      turns: [{ steps: [{ apiError: { message: 'stream disconnected before completion: mock failure' } }] }],
    },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    const end = await h.next('turn_end');
    assert.equal(end.usage.outcome, 'failed');
    assert.deepEqual(
      h.events.filter((e) => e.type === 'status'),
      [{ type: 'status', status: 'error', detail: 'stream disconnected before completion: mock failure' }],
    );
  } finally {
    await h.cleanup();
  }
});

test('crash with an open approval: prompt_cancelled(agent_exit) then exit(code, last stderr line)', T, async () => {
  const h = await makeHarness('codex', {
    scenario: {
      turns: [{ steps: [{ crashLater: { ms: 300, code: 7, stderr: 'panic: thread main' } }, { command: SHELL }] }],
    },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    const { prompt } = await h.next('prompt');
    const exit = await h.next('exit');
    assert.deepEqual(exit, {
      type: 'exit',
      code: 7,
      signal: null,
      lastStderrLine: 'panic: thread main',
      expected: false,
    });
    assert.deepEqual(h.events.at(-2), { type: 'prompt_cancelled', promptId: prompt.id, reason: 'agent_exit' });
    assert.equal(h.session.busy, false);
  } finally {
    await h.cleanup();
  }
});

test('an unknown server request gets a JSON-RPC error so codex never hangs', T, async () => {
  const h = await makeHarness('codex', {
    scenario: { turns: [{ steps: [{ unknownServerRequest: true }, { text: 'after' }] }] },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    await h.next('turn_end');
    const answered = h.recorded().find((r) => r.kind === 'client_answered_unknown_request');
    assert.deepEqual(answered?.response, {
      error: { code: -32601, message: 'Unsupported request: mcpServer/elicitation/request' },
      decision: 'decline',
    });
  } finally {
    await h.cleanup();
  }
});

test(
  'thread/resume keeps the id (excludeTurns, stale usage ignored); an unknown id rejects start with AGENT_CRASHED',
  T,
  async () => {
    const first = await makeHarness('codex', {
      scenario: {
        default: { steps: [{ text: 'hi' }], usage: { inputTokens: 999, cachedInputTokens: 9, outputTokens: 99 } },
      },
    });
    try {
      await first.session.start();
      const id = first.session.sessionId!;
      await first.session.sendTurn('first');
      await first.next('turn_end');
      await first.session.stop({ graceMs: 2_000 });
      const second = await makeHarness('codex', {
        permissions: 'autonomous',
        resumeSessionId: id,
        stateDir: first.stateDir,
        scenario: {
          default: { steps: [{ text: 'again' }], usage: { inputTokens: 10, cachedInputTokens: 1, outputTokens: 2 } },
        },
      });
      try {
        await second.session.start();
        assert.equal(second.session.sessionId, id);
        const resume = requests(second.stdinLines(), 'thread/resume')[0];
        assert.deepEqual(resume.params, {
          threadId: id,
          cwd: second.dir,
          approvalPolicy: 'never',
          sandbox: 'danger-full-access',
          excludeTurns: true,
        });
        await second.session.sendTurn('second');
        const end = await second.next('turn_end');
        assert.deepEqual([end.usage.input_tokens, end.usage.input_tokens_cached, end.usage.output_tokens], [10, 1, 2]);
      } finally {
        await second.cleanup();
      }
      const unknown = await makeHarness('codex', {
        resumeSessionId: '01a1fd0c-0000-7000-8000-000000000000',
        stateDir: first.stateDir,
      });
      try {
        await assert.rejects(unknown.session.start(), (e) => {
          assert.ok(isWorkerError(e, 'AGENT_CRASHED'));
          assert.equal(
            e.message,
            'Codex thread/resume failed: no rollout found for thread id 01a1fd0c-0000-7000-8000-000000000000 (code -32600)',
          );
          return true;
        });
        assert.equal(unknown.session.pid !== undefined, true);
      } finally {
        await unknown.cleanup();
      }
    } finally {
      await first.cleanup();
    }
  },
);
