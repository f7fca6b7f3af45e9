/**
 * The Claude Code adapter against the fake `claude` (a real child process), scenario by scenario, in both
 * permission modes. Assertions cover the events the harness sees and what the fake actually received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseThreadAnswer } from '../../main/core/agents/answers';
import { isWorkerError } from '../../main/core/errors';
import { kinds, makeHarness } from './helpers';

const T = { timeout: 30_000 };
const BASH = {
  name: 'Bash',
  input: { command: 'touch made-by-bash.txt && echo created', description: 'Create a file' },
  output: 'created',
};
const COLOR = {
  question: 'Which color do you prefer?',
  header: 'Color',
  multiSelect: false,
  options: [
    { label: 'Red', description: 'Warm color' },
    { label: 'Blue', description: 'Cool color' },
  ],
};
const SIZES = {
  question: 'Which sizes?',
  header: 'Sizes',
  multiSelect: true,
  options: [{ label: 'S' }, { label: 'M' }, { label: 'L' }],
};

function controlResponses(stdin: unknown[]): Array<Record<string, unknown>> {
  return stdin
    .filter(
      (l): l is { type: string; response: { response: Record<string, unknown> } } =>
        (l as { type?: string }).type === 'control_response',
    )
    .map((l) => l.response.response);
}

test('text and thinking: exact argv of protocol §7, the user line on stdin, events in order', T, async () => {
  const h = await makeHarness('claude_code', {
    newSessionId: '11111111-2222-4333-8444-555555555555',
    model: 'claude-sonnet-4-5',
    effort: 'high',
    scenario: { turns: [{ steps: [{ thinking: 'Simple greeting.' }, { text: 'Hello!' }] }] },
  });
  try {
    await h.session.start();
    assert.equal(h.session.sessionId, '11111111-2222-4333-8444-555555555555');
    await h.session.sendTurn('Say hello');
    assert.equal(h.session.busy, true);
    const end = await h.next('turn_end');
    assert.equal(h.session.busy, false);
    assert.deepEqual(kinds(h.events), ['thinking', 'text', 'turn_end']);
    assert.deepEqual(h.events.slice(0, 2), [
      { type: 'thinking', text: 'Simple greeting.' },
      { type: 'text', text: 'Hello!' },
    ]);
    assert.equal(end.usage.outcome, 'completed');
    const argv = h.recorded().find((r) => r.kind === 'argv')!.argv;
    assert.deepEqual(argv, [
      '-p',
      '--output-format',
      'stream-json',
      '--input-format',
      'stream-json',
      '--verbose',
      '--permission-prompt-tool',
      'stdio',
      '--permission-mode',
      'default',
      '--session-id',
      '11111111-2222-4333-8444-555555555555',
      '--model',
      'claude-sonnet-4-5',
      '--effort',
      'high',
    ]);
    const stdin = h.stdinLines();
    assert.equal((stdin[0] as { request: { subtype: string } }).request.subtype, 'initialize');
    assert.deepEqual(stdin[1], {
      type: 'user',
      message: { role: 'user', content: 'Say hello' },
      parent_tool_use_id: null,
      session_id: '',
    });
  } finally {
    await h.cleanup();
  }
});

test('usage per protocol §8.1: input = input + cache_read + cache_creation, cached = cache_read, cost', T, async () => {
  const usage = {
    input_tokens: 100,
    cache_read_input_tokens: 50,
    cache_creation_input_tokens: 25,
    output_tokens: 30,
    total_cost_usd: 0.5,
  };
  const h = await makeHarness('claude_code', { scenario: { turns: [{ steps: [{ text: 'x' }], usage }] } });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    const end = await h.next('turn_end');
    assert.deepEqual(
      { ...end.usage, duration_ms: 0 },
      {
        input_tokens: 175,
        input_tokens_cached: 50,
        output_tokens: 30,
        duration_ms: 0,
        cost_usd: 0.5,
        stop_reason: 'end_turn',
        is_error: false,
        outcome: 'completed',
      },
    );
  } finally {
    await h.cleanup();
  }
});

for (const decision of ['allow', 'deny with message', 'plain deny'] as const) {
  test(`approval mode: can_use_tool becomes a prompt; ${decision} reaches the fake`, T, async () => {
    const h = await makeHarness('claude_code', {
      permissions: 'approval',
      scenario: { markers: { DO_BASH: { steps: [{ text: 'Running.' }, { tool: BASH }, { text: 'Done.' }] } } },
    });
    try {
      await h.session.start();
      await h.session.sendTurn('DO_BASH please');
      const { prompt } = await h.next('prompt');
      assert.equal(prompt.kind, 'approval');
      assert.ok(prompt.id.startsWith('pr_'));
      if (prompt.kind !== 'approval') return;
      const call = await h.next('tool_call');
      assert.deepEqual(prompt.tool, { name: 'Bash', invocation_id: call.invocationId, input: BASH.input });
      assert.equal(prompt.reason, 'Create a file');
      const reply = decision === 'allow' ? 'yes' : decision === 'deny with message' ? 'Not in this repo, please' : 'no';
      await h.session.answerPrompt(prompt.id, parseThreadAnswer(prompt, reply));
      const result = await h.next('tool_result');
      await h.next('turn_end');
      const [response] = controlResponses(h.stdinLines());
      if (decision === 'allow') {
        assert.deepEqual(response, { behavior: 'allow', updatedInput: BASH.input });
        assert.deepEqual(result, {
          type: 'tool_result',
          invocationId: call.invocationId,
          output: 'created',
          isError: false,
        });
        assert.ok(h.recorded().some((r) => r.kind === 'tool_ran'));
      } else {
        const message = decision === 'plain deny' ? 'Denied by the user' : 'Not in this repo, please';
        assert.deepEqual(response, { behavior: 'deny', message });
        assert.deepEqual(result, {
          type: 'tool_result',
          invocationId: call.invocationId,
          output: message,
          isError: true,
        });
        assert.ok(!h.recorded().some((r) => r.kind === 'tool_ran'));
      }
      await assert.rejects(h.session.answerPrompt(prompt.id, { kind: 'approval', decision: 'allow' }), (e) =>
        isWorkerError(e, 'NOT_FOUND'),
      );
    } finally {
      await h.cleanup();
    }
  });
}

test(
  'autonomous mode: the adapter allows tools itself (echoing the input) but AskUserQuestion still prompts',
  T,
  async () => {
    const h = await makeHarness('claude_code', {
      permissions: 'autonomous',
      scenario: { turns: [{ steps: [{ tool: BASH }, { ask: { questions: [COLOR] } }, { text: 'ok' }] }] },
    });
    try {
      await h.session.start();
      await h.session.sendTurn('go');
      const { prompt } = await h.next('prompt');
      assert.equal(prompt.kind, 'ask_user_question');
      assert.equal(h.events.filter((e) => e.type === 'prompt').length, 1, 'no approval prompt in autonomous mode');
      assert.deepEqual(controlResponses(h.stdinLines())[0], { behavior: 'allow', updatedInput: BASH.input });
      await h.session.answerPrompt(prompt.id, parseThreadAnswer(prompt, 'blue'));
      await h.next('turn_end');
      assert.deepEqual(kinds(h.events), [
        'tool_call',
        'tool_result',
        'tool_call',
        'prompt',
        'tool_result',
        'text',
        'turn_end',
      ]);
    } finally {
      await h.cleanup();
    }
  },
);

test(
  'AskUserQuestion, one question: prompt mapped; a number answers with the label, keyed by question text',
  T,
  async () => {
    const h = await makeHarness('claude_code', { scenario: { turns: [{ steps: [{ ask: { questions: [COLOR] } }] }] } });
    try {
      await h.session.start();
      await h.session.sendTurn('ask me');
      const { prompt } = await h.next('prompt');
      assert.deepEqual(
        { ...prompt, id: 'x' },
        {
          id: 'x',
          kind: 'ask_user_question',
          questions: [{ question: COLOR.question, header: 'Color', multi_select: false, options: COLOR.options }],
        },
      );
      await h.session.answerPrompt(prompt.id, parseThreadAnswer(prompt, '2'));
      const result = await h.next('tool_result');
      assert.equal(
        result.output,
        'Your questions have been answered: "Which color do you prefer?"="Blue". You can now continue with these answers in mind.',
      );
      assert.deepEqual(controlResponses(h.stdinLines())[0], {
        behavior: 'allow',
        updatedInput: { questions: [COLOR], answers: { [COLOR.question]: 'Blue' } },
      });
    } finally {
      await h.cleanup();
    }
  },
);

test('AskUserQuestion, several questions with multi-select: "1)"/"2)" lines', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { turns: [{ steps: [{ ask: { questions: [COLOR, SIZES] } }] }] },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('ask me');
    const { prompt } = await h.next('prompt');
    await h.session.answerPrompt(prompt.id, parseThreadAnswer(prompt, '1) red\n2) 1, L'));
    await h.next('tool_result');
    const response = controlResponses(h.stdinLines())[0] as { updatedInput: { answers: unknown } };
    assert.deepEqual(response.updatedInput.answers, { [COLOR.question]: 'Red', 'Which sizes?': 'S, L' });
  } finally {
    await h.cleanup();
  }
});

test('a 1 MB tool output arrives whole (event and thread.log)', T, async () => {
  const h = await makeHarness('claude_code', {
    permissions: 'autonomous',
    scenario: { turns: [{ steps: [{ tool: { ...BASH, outputBytes: 1_048_576 } }] }] },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('big');
    const result = await h.next('tool_result');
    assert.equal(result.output.length, 1_048_576);
    assert.equal(result.output, 'x'.repeat(99).concat('\n').repeat(10486).slice(0, 1_048_576));
    await h.next('turn_end');
    const logged = readFileSync(h.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.ok(logged.some((r) => r.dir === 'stdout' && typeof r.line === 'string' && r.line.length > 1_048_576));
  } finally {
    await h.cleanup();
  }
});

test('garbage and unknown lines are logged and skipped; the turn goes on', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: {
      turns: [
        { steps: [{ garbage: 'this is {not json' }, { unknown: true }, { raw: '[1,2]' }, { text: 'still here' }] },
      ],
    },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    await h.next('turn_end');
    assert.deepEqual(kinds(h.events), ['text', 'turn_end']);
    const logged = readFileSync(h.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.ok(logged.some((r) => r.src === 'agent' && r.dir === 'stdout' && r.line === 'this is {not json'));
    assert.deepEqual(
      logged.filter((r) => r.event === 'agent_line_skipped').map((r) => r.reason),
      ['not JSON', 'not a JSON object'],
    );
    for (const r of logged) assert.ok(typeof r.ts === 'string' && ['agent', 'worker'].includes(r.src));
  } finally {
    await h.cleanup();
  }
});

test('status lines: system/status, api_retry, compact_boundary', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: {
      turns: [
        {
          steps: [{ status: 'compacting' }, { apiRetry: { attempt: 1, status: 500, delayMs: 591 } }, { compact: true }],
        },
      ],
    },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    await h.next('turn_end');
    assert.deepEqual(
      h.events.filter((e) => e.type === 'status'),
      [
        { type: 'status', status: 'compacting' },
        { type: 'status', status: 'api_retry', detail: 'attempt 1/10, 500 server_error, retrying in 591 ms' },
        { type: 'status', status: 'compacted', detail: 'auto, 1000 tokens before' },
      ],
    );
  } finally {
    await h.cleanup();
  }
});

test('slow output + interrupt: turn_end is interrupted, the next turn works', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { markers: { DO_SLOW: { steps: [{ sleep: 20_000 }, { text: 'never' }] } } },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('DO_SLOW hello');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await h.session.interrupt();
    const end = await h.next('turn_end');
    assert.ok(Date.now() - t0 < 5_000);
    assert.equal(end.usage.outcome, 'interrupted');
    assert.equal(end.usage.is_error, true);
    assert.ok(h.stdinLines().some((l) => (l as { request?: { subtype?: string } }).request?.subtype === 'interrupt'));
    await h.session.sendTurn('after interrupt');
    await h.next('text', (e) => e.text === 'Hello! You said: after interrupt');
    assert.equal(h.events.filter((e) => e.type === 'turn_end').length, 2);
  } finally {
    await h.cleanup();
  }
});

test('api error: the synthetic text and an is_error turn_end; the process stays usable', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { markers: { DO_APIERR: { steps: [{ apiError: { status: 400, message: 'mock bad request' } }] } } },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('DO_APIERR please');
    const end = await h.next('turn_end');
    assert.deepEqual(h.events[0], { type: 'text', text: 'API Error: 400 mock bad request' });
    assert.equal(end.usage.is_error, true);
    assert.equal(end.usage.outcome, 'failed');
    await h.session.sendTurn('again');
    await h.next('text', (e) => e.text.startsWith('Hello!'));
  } finally {
    await h.cleanup();
  }
});

test(
  'crash mid-turn with an open prompt: prompt_cancelled(agent_exit), then exit with code and last stderr line',
  T,
  async () => {
    const h = await makeHarness('claude_code', {
      scenario: {
        turns: [
          {
            steps: [
              { stderr: 'warming up' },
              { crashLater: { ms: 300, code: 3, stderr: 'fatal: boom' } },
              { tool: BASH },
            ],
          },
        ],
      },
    });
    try {
      await h.session.start();
      await h.session.sendTurn('go');
      const { prompt } = await h.next('prompt');
      const exit = await h.next('exit');
      assert.deepEqual(exit, { type: 'exit', code: 3, signal: null, lastStderrLine: 'fatal: boom', expected: false });
      const tail = h.events.slice(-2);
      assert.deepEqual(tail[0], { type: 'prompt_cancelled', promptId: prompt.id, reason: 'agent_exit' });
      assert.equal(h.session.busy, false);
      await assert.rejects(h.session.sendTurn('more'), (e) => isWorkerError(e, 'AGENT_CRASHED'));
    } finally {
      await h.cleanup();
    }
  },
);

test('the CLI withdrawing a can_use_tool (control_cancel_request) cancels the prompt', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { turns: [{ steps: [{ tool: { ...BASH, cancelAfterMs: 200 } }, { text: 'moved on' }] }] },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    const { prompt } = await h.next('prompt');
    const cancelled = await h.next('prompt_cancelled');
    assert.deepEqual(cancelled, { type: 'prompt_cancelled', promptId: prompt.id, reason: 'agent_cancelled' });
    await h.next('turn_end');
  } finally {
    await h.cleanup();
  }
});

test('an unknown control_request from the CLI gets an error response (never left hanging)', T, async () => {
  const h = await makeHarness('claude_code', {
    scenario: { turns: [{ steps: [{ unknownControlRequest: true }, { text: 'after' }] }] },
  });
  try {
    await h.session.start();
    await h.session.sendTurn('go');
    await h.next('turn_end');
    const answered = h.recorded().find((r) => r.kind === 'host_answered_unknown_request');
    assert.deepEqual(answered?.response, {
      behavior: 'deny',
      message: 'Unsupported control request: hook_callback',
      error: 'Unsupported control request: hook_callback',
    });
  } finally {
    await h.cleanup();
  }
});

test('resume by id keeps the id; an unknown resume id makes start() reject with AGENT_CRASHED', T, async () => {
  const first = await makeHarness('claude_code', { newSessionId: 'aaaaaaaa-2222-4333-8444-555555555555' });
  try {
    await first.session.start();
    await first.session.sendTurn('remember me');
    await first.next('turn_end');
    await first.session.stop({ graceMs: 2_000 });
    const second = await makeHarness('claude_code', {
      resumeSessionId: 'aaaaaaaa-2222-4333-8444-555555555555',
      stateDir: first.stateDir,
    });
    try {
      await second.session.start();
      assert.equal(second.session.sessionId, 'aaaaaaaa-2222-4333-8444-555555555555');
      const argv = second.recorded().find((r) => r.kind === 'argv')!.argv as string[];
      assert.deepEqual(argv.slice(argv.indexOf('--resume'), argv.indexOf('--resume') + 2), [
        '--resume',
        'aaaaaaaa-2222-4333-8444-555555555555',
      ]);
      assert.ok(!argv.includes('--session-id'));
      await second.session.sendTurn('back again');
      await second.next('turn_end');
      assert.ok(!second.events.some((e) => e.type === 'session'), 'init confirmed the same id');
    } finally {
      await second.cleanup();
    }
    const unknown = await makeHarness('claude_code', {
      resumeSessionId: '99999999-2222-4333-8444-555555555555',
      stateDir: first.stateDir,
    });
    try {
      await assert.rejects(unknown.session.start(), (e) => {
        assert.ok(isWorkerError(e, 'AGENT_CRASHED'));
        assert.match(
          e.message,
          /exited with code 1: No conversation found with session ID: 99999999-2222-4333-8444-555555555555/,
        );
        return true;
      });
      assert.deepEqual(unknown.events, [], 'a failed start reports by rejection only');
    } finally {
      await unknown.cleanup();
    }
  } finally {
    await first.cleanup();
  }
});

test('several turns queue in the one process; busy until the last turn_end', T, async () => {
  const h = await makeHarness('claude_code', { scenario: { default: { steps: [{ sleep: 100 }, { text: 'ok' }] } } });
  try {
    await h.session.start();
    await h.session.sendTurn('one');
    await h.session.sendTurn('two');
    await h.next('turn_end');
    assert.equal(h.session.busy, true);
    await h.next('turn_end', () => h.events.filter((e) => e.type === 'turn_end').length === 2);
    assert.equal(h.session.busy, false);
    assert.equal(
      new Set(
        h
          .recorded()
          .filter((r) => r.kind === 'argv')
          .map((r) => r.pid),
      ).size,
      1,
    );
  } finally {
    await h.cleanup();
  }
});
