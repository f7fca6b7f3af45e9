/**
 * The pure wire → event mappers (claude-events.ts, codex-events.ts) fed the stdout lines of the captured
 * transcripts (test/fixtures/agents) directly, without an adapter: the expected sequences are written out for
 * representative fixtures, and for every fixture the mapper's events equal what the adapter emits for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { tmpdir } from 'node:os';
import { claudeLineEvents } from '../../main/core/agents/claude-events';
import { itemEvents, serverRequestPrompt } from '../../main/core/agents/codex-events';
import { isSkipped } from '../../main/core/agents/mapped';
import { ClaudeSession } from '../../main/core/agents/claude';
import { CodexSession } from '../../main/core/agents/codex';
import { ThreadLog } from '../../main/core/agents/thread-log';
import type { AgentEvent, AgentStartOptions } from '../../main/core/agents/types';
import { FIXTURES, loadFixture, show } from './replay';

const fixtureNames = (agent: 'claude' | 'codex', prefix = ''): string[] =>
  readdirSync(join(FIXTURES, agent))
    .filter((f) => f.startsWith(prefix) && f.endsWith('.jsonl'))
    .map((f) => basename(f, '.jsonl'))
    .sort();

const stdoutMessages = (file: string): Array<Record<string, unknown>> =>
  loadFixture(file)
    .filter((r) => r.dir === 'stdout' && r.msg)
    .map((r) => r.msg!);

function claudeMapped(name: string): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const msg of stdoutMessages(`claude/${name}.jsonl`)) {
    const mapped = claudeLineEvents(msg);
    assert.ok(!isSkipped(mapped), `${name}: the mapper skipped a captured line: ${mapped && JSON.stringify(mapped)}`);
    events.push(...mapped);
  }
  return events;
}

function codexMapped(name: string): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const msg of stdoutMessages(`codex/${name}.jsonl`)) {
    if (msg.method !== 'item/started' && msg.method !== 'item/completed') continue;
    const mapped = itemEvents(msg.method === 'item/started', msg.params);
    assert.ok(!isSkipped(mapped), `${name}: the mapper skipped a captured item: ${JSON.stringify(mapped)}`);
    events.push(...mapped.events);
  }
  return events;
}

function adapterOptions(): AgentStartOptions {
  return {
    executable: '/nonexistent/agent',
    cwd: '/home/user/project',
    permissions: 'approval',
    logFile: join(tmpdir(), 'unused-thread.log'),
    threadLog: new ThreadLog(join(tmpdir(), `bhw-wire-events-${process.pid}.log`)),
  };
}

/** The adapter's own events for the fixture's stdout lines (prompts left unanswered). */
function adapterEvents(session: ClaudeSession | CodexSession, file: string): AgentEvent[] {
  const events: AgentEvent[] = [];
  session.onEvent((e) => events.push(e));
  session.attachReplay(() => undefined, true);
  for (const msg of stdoutMessages(file)) session.handleLine(JSON.stringify(msg));
  return events;
}

test('claude mapper: fixture 02 (tool use, permission allowed) maps to the written-out sequence', () => {
  assert.deepEqual(claudeMapped('02-tool-use-permission-allowed').map(show), [
    'session 48510ab7-d28f-4b0e-949f-45e8662f607a',
    'thinking "The user wants me to run a command. I wi…"',
    'text "Running a command now."',
    'tool_call Bash toolu_bash_1',
    'tool_result toolu_bash_1 "created"',
    'text "Final answer after tool. Result was: cre…"',
    'turn_end completed in=240 cached=0 out=60 $0.00162',
  ]);
});

test('claude mapper: fixture 04 (no prompt tool) gives the permission_denied status and the error result', () => {
  assert.deepEqual(claudeMapped('04-no-prompt-tool-auto-denied').map(show), [
    'session f32df896-15dc-4051-bd8c-0845f60fc488',
    'text "I will write a file."',
    'tool_call Write toolu_write_1',
    'status permission_denied "Claude requested permissions to write to…"',
    'tool_result toolu_write_1 ERROR "Claude requested permissions t…"',
    'text "Final answer after tool. Result was: Cla…"',
    'turn_end completed in=240 cached=0 out=60 $0.00162',
  ]);
});

test('claude mapper: fixture 10 (API error 400) ends the turn as an error', () => {
  const ends = claudeMapped('10-api-error-400').filter((e) => e.type === 'turn_end');
  assert.equal(ends.length, 1);
  assert.equal(ends[0].type === 'turn_end' && ends[0].usage.is_error, true);
});

for (const name of fixtureNames('claude')) {
  test(`claude mapper = adapter on fixture ${name}`, () => {
    const content = (e: AgentEvent): boolean =>
      e.type !== 'session' && e.type !== 'prompt' && e.type !== 'prompt_cancelled';
    const fromAdapter = adapterEvents(new ClaudeSession(adapterOptions()), `claude/${name}.jsonl`).filter(content);
    assert.deepEqual(claudeMapped(name).filter(content), fromAdapter);
  });
}

test('codex mapper: appserver-01 items map to the written-out sequence', () => {
  assert.deepEqual(codexMapped('appserver-01-command-and-patch-approved').map(show), [
    'thinking "**Planning** I should answer."',
    'tool_call commandExecution call_1',
    'tool_result call_1 "ok\\n"',
    'text "Done. Tool output received."',
    'tool_call fileChange call_3',
    'tool_result call_3 "completed:\\nadd /home/user/proj…"',
    'text "Done. Tool output received."',
  ]);
});

test('codex mapper: appserver-02 declined command is an error result', () => {
  assert.deepEqual(
    codexMapped('appserver-02-command-declined')
      .filter((e) => e.type === 'tool_result')
      .map(show),
    ['tool_result call_1 ERROR "Declined by the user"'],
  );
});

test('codex mapper: the captured approval requests become approval prompts naming the item', () => {
  const seen: string[] = [];
  for (const name of fixtureNames('codex', 'appserver-')) {
    for (const msg of stdoutMessages(`codex/${name}.jsonl`)) {
      if (typeof msg.method !== 'string' || msg.id === undefined) continue;
      const mapped = serverRequestPrompt(msg.id as number, msg.method, msg.params, () => undefined);
      assert.ok('prompt' in mapped, `${name}: ${msg.method} gave no prompt`);
      const p = mapped.prompt;
      assert.equal(p.kind, 'approval');
      if (p.kind === 'approval') seen.push(`${name} ${p.tool.name} ${p.tool.invocation_id}`);
    }
  }
  assert.ok(seen.length >= 5, `expected the captured approvals, got ${seen.join(', ')}`);
  assert.ok(seen.includes('appserver-01-command-and-patch-approved fileChange call_3'));
});

for (const name of fixtureNames('codex', 'appserver-')) {
  test(`codex mapper = adapter on fixture ${name}`, () => {
    const item = (e: AgentEvent): boolean =>
      e.type === 'text' || e.type === 'thinking' || e.type === 'tool_call' || e.type === 'tool_result';
    const fromAdapter = adapterEvents(new CodexSession(adapterOptions()), `codex/${name}.jsonl`).filter(item);
    assert.deepEqual(codexMapped(name), fromAdapter);
  });
}

test('a malformed line is a skip with a reason, not an exception', () => {
  const mapped = claudeLineEvents({ type: 'assistant', message: 42 });
  assert.ok(isSkipped(mapped));
  assert.match(mapped.skip, /malformed assistant line/);
  const item = itemEvents(true, { item: { id: 'x' } });
  assert.ok(isSkipped(item));
  assert.match(item.skip, /without type or id/);
});
