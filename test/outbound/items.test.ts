import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  itemFromAgentEvent,
  pendingPromptItem,
  promptResolvedItem,
  sectionAttachedItem,
  statusItem,
  textItem,
  thinkingItem,
  threadActivatedItem,
  threadFailedItem,
  threadStoppedItem,
  toolCallItem,
  toolResultItem,
  turnEndItem,
} from '../../main/core/harness/outbound/items';
import type { PostItemInput } from '../../main/core/api/types';
import type { AgentPrompt } from '../../main/core/agents/types';

const brief = (item: PostItemInput): string => {
  assert.equal(item.content.length, 1);
  const block = item.content[0] as { type: string; text: string };
  assert.equal(block.type, 'text');
  return block.text;
};

/** metadata without the emission id, after checking the id's shape. */
const meta = (item: PostItemInput): Record<string, unknown> => {
  const { emission_id, ...rest } = item.metadata!;
  assert.match(String(emission_id), /^em_[0-9A-HJKMNP-TV-Z]{26}$/);
  return rest;
};

test('text: brief is the text, metadata only type + emission_id', () => {
  const item = textItem('Looks like the issue is in `parseToken`.\nSecond line.');
  assert.equal(brief(item), 'Looks like the issue is in `parseToken`.\nSecond line.');
  assert.deepEqual(meta(item), { type: 'text' });
});

test('every item gets its own emission id', () => {
  const ids = new Set(Array.from({ length: 200 }, () => textItem('x').metadata!.emission_id));
  assert.equal(ids.size, 200);
});

test('tool_call: metadata.tool and the per-tool summary', () => {
  const bash = toolCallItem('Bash', 'tu_1', { command: 'npm test', description: 'Run the test suite' });
  assert.equal(brief(bash), 'Bash → npm test');
  assert.deepEqual(meta(bash), {
    type: 'tool_call',
    tool: { name: 'Bash', invocation_id: 'tu_1', input: { command: 'npm test', description: 'Run the test suite' } },
  });
  const cases: Array<[string, unknown, string]> = [
    ['Read', { file_path: '/a/b.ts', limit: 5 }, 'Read → /a/b.ts'],
    ['Write', { content: 'zzz', file_path: '/a/w.ts' }, 'Write → /a/w.ts'],
    ['Edit', { old_string: 'x', file_path: '/a/e.ts' }, 'Edit → /a/e.ts'],
    ['NotebookEdit', { new_source: 'x', notebook_path: '/n.ipynb' }, 'NotebookEdit → /n.ipynb'],
    ['Grep', { path: '/src', pattern: 'TODO' }, 'Grep → TODO'],
    ['Glob', { pattern: '**/*.ts' }, 'Glob → **/*.ts'],
    ['WebFetch', { prompt: 'summarize', url: 'https://example.com' }, 'WebFetch → https://example.com'],
    ['commandExecution', { cwd: '/w', command: "/bin/bash -lc 'ls'" }, "commandExecution → /bin/bash -lc 'ls'"],
    ['command_execution', { command: ['bash', '-lc', 'ls'] }, 'command_execution → bash -lc ls'],
    [
      'fileChange',
      {
        changes: [
          { path: '/w/a.txt', kind: 'add' },
          { path: '/w/b.txt', kind: 'update' },
        ],
      },
      'fileChange → /w/a.txt, /w/b.txt',
    ],
    ['mcp__thing', { n: 3, query: 'weather', other: 'x' }, 'mcp__thing → weather'],
    ['NoStrings', { n: 3 }, 'NoStrings'],
  ];
  for (const [name, input, expected] of cases) assert.equal(brief(toolCallItem(name, 'id', input)), expected, name);
});

test('tool_call brief is one line and at most 200 characters, never half an emoji', () => {
  const item = toolCallItem('Bash', 'tu_2', { command: `echo one\n  echo two && ${'😀'.repeat(300)}` });
  const b = brief(item);
  assert.ok(!b.includes('\n'));
  assert.ok(b.startsWith('Bash → echo one echo two && 😀'));
  assert.equal(Array.from(b).length, 200);
  assert.ok(b.endsWith('…'));
  assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(b), 'no lone high surrogate');
  // The full input is untouched in metadata.
  assert.ok(String((item.metadata!.tool as { input: { command: string } }).input.command).endsWith('😀'));
});

test('tool_result: → first line (N lines), ✗ when is_error', () => {
  const ok = toolResultItem('tu_1', '✓ src/parse.test.ts (3 tests)\n✓ src/b.test.ts\nall passed\n', false);
  assert.equal(brief(ok), '→ ✓ src/parse.test.ts (3 tests) (3 lines)');
  assert.deepEqual(meta(ok), {
    type: 'tool_result',
    tool: {
      invocation_id: 'tu_1',
      output: '✓ src/parse.test.ts (3 tests)\n✓ src/b.test.ts\nall passed\n',
      is_error: false,
    },
  });
  const err = toolResultItem('tu_2', 'Denied by the user', true);
  assert.equal(brief(err), '✗ Denied by the user (1 line)');
  assert.equal((err.metadata!.tool as { is_error: boolean }).is_error, true);
  assert.equal(brief(toolResultItem('tu_3', '', false)), '→ (no output)');
  const long = toolResultItem('tu_4', 'y'.repeat(1000) + '\nsecond', false);
  assert.ok(Array.from(brief(long)).length <= 200 + ' (2 lines)'.length + 2);
  assert.ok(brief(long).endsWith('… (2 lines)'));
});

test('thinking: brief is the first 120 characters, metadata.text the full text', () => {
  const text = 'é'.repeat(50) + '🧠'.repeat(100);
  const item = thinkingItem(text);
  assert.equal(brief(item), 'é'.repeat(50) + '🧠'.repeat(70));
  assert.equal(Array.from(brief(item)).length, 120);
  assert.deepEqual(meta(item), { type: 'thinking', text });
  assert.equal(brief(thinkingItem('short')), 'short');
});

test('status: token, optional detail, a sentence brief', () => {
  const item = statusItem('resume_failed_started_fresh');
  assert.deepEqual(meta(item), { type: 'status', status: 'resume_failed_started_fresh' });
  assert.equal(brief(item), 'Could not resume the previous agent session; started a fresh one.');
  const other = statusItem('rate_limit_wait', 'retrying in 5 s');
  assert.deepEqual(meta(other), { type: 'status', status: 'rate_limit_wait', detail: 'retrying in 5 s' });
  assert.equal(brief(other), 'Rate limit wait. retrying in 5 s');
});

test('turn_end: token figures directly under metadata, cost optional', () => {
  const item = turnEndItem({
    input_tokens: 12345,
    input_tokens_cached: 10000,
    output_tokens: 678,
    duration_ms: 4200,
    cost_usd: 0.0123,
    stop_reason: 'end_turn',
  });
  assert.deepEqual(meta(item), {
    type: 'turn_end',
    input_tokens: 12345,
    input_tokens_cached: 10000,
    output_tokens: 678,
    duration_ms: 4200,
    cost_usd: 0.0123,
    stop_reason: 'end_turn',
  });
  assert.equal(brief(item), '— turn ended — 12,345 in (10,000 cached) · 678 out · 4.2 s · $0.0123');
  const codex = turnEndItem({ input_tokens: 10, input_tokens_cached: 0, output_tokens: 2, duration_ms: 100 });
  assert.deepEqual(meta(codex), {
    type: 'turn_end',
    input_tokens: 10,
    input_tokens_cached: 0,
    output_tokens: 2,
    duration_ms: 100,
    stop_reason: null,
  });
  assert.ok(brief(codex).startsWith('— turn ended —'));
});

test('pending_prompt: metadata.prompt is the §9.1 payload, brief as in the docs', () => {
  const prompt: AgentPrompt = {
    id: 'pr_01',
    kind: 'ask_user_question',
    questions: [
      {
        question: "What's the deployment target?",
        multi_select: false,
        options: [
          { label: 'staging', description: 'push to staging.example.com' },
          { label: 'production', description: 'push to www.example.com' },
        ],
      },
    ],
  };
  const item = pendingPromptItem(prompt);
  assert.deepEqual(meta(item), { type: 'pending_prompt', prompt });
  assert.equal(
    brief(item),
    [
      '❓ Provide input:',
      "What's the deployment target?",
      '  1. staging — push to staging.example.com',
      '  2. production — push to www.example.com',
      'Reply with a number, the option text, or free text.',
    ].join('\n'),
  );
  const approval: AgentPrompt = {
    id: 'pr_02',
    kind: 'approval',
    tool: { name: 'Bash', invocation_id: 'tu_9', input: { command: 'rm -rf build' } },
  };
  const a = pendingPromptItem(approval);
  assert.deepEqual(meta(a), { type: 'pending_prompt', prompt: approval });
  assert.match(brief(a), /^❓ .*Bash → rm -rf build/);
  assert.match(brief(a), /yes/);
  const text = pendingPromptItem({ id: 'pr_03', kind: 'text', question: 'Name?' });
  assert.equal(brief(text), '❓ Provide input:\nName?\nReply with free text.');
});

test('pending_prompt_resolved: answered / cancelled, one line', () => {
  const answered = promptResolvedItem({
    promptId: 'pr_01',
    resolution: 'answered',
    answeredVia: 'thread',
    answer: { kind: 'approval', decision: 'allow' },
  });
  assert.deepEqual(meta(answered), {
    type: 'pending_prompt_resolved',
    prompt_id: 'pr_01',
    resolution: 'answered',
    answer: { kind: 'approval', decision: 'allow' },
    answered_via: 'thread',
  });
  assert.ok(!brief(answered).includes('\n'));
  assert.match(brief(answered), /answered via thread/);
  const cancelled = promptResolvedItem({ promptId: 'pr_02', resolution: 'cancelled', reason: 'worker_restart' });
  assert.deepEqual(meta(cancelled), {
    type: 'pending_prompt_resolved',
    prompt_id: 'pr_02',
    resolution: 'cancelled',
    reason: 'worker_restart',
  });
  assert.equal(brief(cancelled), '✗ Prompt cancelled (worker_restart)');
  const desktop = promptResolvedItem({
    promptId: 'pr_03',
    resolution: 'answered',
    answeredVia: 'desktop',
    answer: { kind: 'text', text: 'line one\nline two' },
  });
  assert.equal(desktop.metadata!.answered_via, 'desktop');
  assert.ok(!brief(desktop).includes('\n'));
});

test('activity items: fields directly under metadata', () => {
  assert.deepEqual(meta(sectionAttachedItem('ins_01', '0.1.0')), {
    type: 'section_attached',
    instance_id: 'ins_01',
    version: '0.1.0',
  });
  assert.deepEqual(meta(threadActivatedItem('t1', 'claude_code', 'uuid-1')), {
    type: 'thread_activated',
    alias: 't1',
    agent_type: 'claude_code',
    agent_session_id: 'uuid-1',
  });
  const failed = threadFailedItem('t1', { code: 'AGENT_CRASHED', message: 'exit code 1' });
  assert.deepEqual(meta(failed), {
    type: 'thread_failed',
    alias: 't1',
    error: { code: 'AGENT_CRASHED', message: 'exit code 1' },
  });
  assert.equal(brief(failed), 'Thread t1 failed: AGENT_CRASHED — exit code 1');
  assert.deepEqual(meta(threadStoppedItem('t1', 'thread_completed')), {
    type: 'thread_stopped',
    alias: 't1',
    reason: 'thread_completed',
  });
});

test('itemFromAgentEvent maps the item kinds and skips the rest', () => {
  assert.equal(itemFromAgentEvent({ type: 'text', text: 'hi' })!.metadata!.type, 'text');
  assert.equal(itemFromAgentEvent({ type: 'thinking', text: 'hm' })!.metadata!.type, 'thinking');
  assert.equal(
    itemFromAgentEvent({ type: 'tool_call', name: 'Bash', invocationId: 'a', input: { command: 'ls' } })!.metadata!
      .type,
    'tool_call',
  );
  const r = itemFromAgentEvent({ type: 'tool_result', invocationId: 'a', output: 'x', isError: true })!;
  assert.deepEqual(meta(r), { type: 'tool_result', tool: { invocation_id: 'a', output: 'x', is_error: true } });
  assert.equal(itemFromAgentEvent({ type: 'status', status: 'compacting' })!.metadata!.status, 'compacting');
  assert.equal(
    itemFromAgentEvent({
      type: 'turn_end',
      usage: { input_tokens: 1, input_tokens_cached: 0, output_tokens: 1, duration_ms: 1 },
    })!.metadata!.type,
    'turn_end',
  );
  assert.equal(
    itemFromAgentEvent({ type: 'prompt', prompt: { id: 'pr_1', kind: 'text', question: 'q' } })!.metadata!.type,
    'pending_prompt',
  );
  const cancelled = itemFromAgentEvent({ type: 'prompt_cancelled', promptId: 'pr_1', reason: 'agent_exit' })!;
  assert.deepEqual(meta(cancelled), {
    type: 'pending_prompt_resolved',
    prompt_id: 'pr_1',
    resolution: 'cancelled',
    reason: 'agent_exit',
  });
  assert.equal(itemFromAgentEvent({ type: 'session', sessionId: 's' }), null);
  assert.equal(itemFromAgentEvent({ type: 'exit', code: 0, signal: null, lastStderrLine: null, expected: true }), null);
  assert.equal(itemFromAgentEvent({ type: 'text', text: '  \n' }), null);
});
