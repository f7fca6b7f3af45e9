/**
 * Replays a captured fixture (test/fixtures/agents) through an adapter without a process: stdout lines go to
 * the adapter's line parser, the driver's stdin lines are re-created by calling the adapter (sendTurn,
 * interrupt, answerPrompt) and what the adapter writes is compared with what the real driver wrote.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ClaudeSession } from '../../main/core/agents/claude';
import { CodexSession } from '../../main/core/agents/codex';
import { ThreadLog } from '../../main/core/agents/thread-log';
import type { AgentEvent, AgentPrompt, AgentStartOptions, PromptAnswer } from '../../main/core/agents/types';
import type { PermissionMode } from '../../main/core/state/schemas';
import { ROOT } from '../support/process';

/** Real wire transcripts of Claude Code 2.1.329 and Codex 0.169.0, carried in the repository (README.md there). */
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'agents');

export interface FixtureRecord {
  dir: 'stdin' | 'stdout' | 'stderr' | 'stdin-eof' | 'exit';
  msg?: Record<string, unknown>;
  text?: string;
}

export function loadFixture(name: string): FixtureRecord[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** A compact, readable form of an event for sequence assertions. */
export function show(e: AgentEvent): string {
  const cut = (s: string, n = 40): string => JSON.stringify(s.length > n ? s.slice(0, n) + '…' : s);
  switch (e.type) {
    case 'session':
      return `session ${e.sessionId}`;
    case 'text':
      return `text ${cut(e.text)}`;
    case 'thinking':
      return `thinking ${cut(e.text)}`;
    case 'tool_call':
      return `tool_call ${e.name} ${e.invocationId}`;
    case 'tool_result':
      return `tool_result ${e.invocationId}${e.isError ? ' ERROR' : ''} ${cut(e.output, 30)}`;
    case 'status':
      return `status ${e.status}${e.detail ? ` ${cut(e.detail)}` : ''}`;
    case 'turn_end': {
      const u = e.usage;
      return `turn_end ${u.outcome} in=${u.input_tokens} cached=${u.input_tokens_cached} out=${u.output_tokens}${u.cost_usd !== undefined ? ` $${u.cost_usd}` : ''}`;
    }
    case 'prompt': {
      const p = e.prompt;
      if (p.kind === 'approval')
        return `prompt approval ${p.tool.name} ${p.tool.invocation_id}${p.reason ? ` ${cut(p.reason)}` : ''}`;
      if (p.kind === 'ask_user_question')
        return `prompt ask_user_question ${p.questions.map((q) => cut(q.question)).join(' | ')}`;
      if (p.kind === 'plan') return `prompt plan ${cut(p.plan)}`;
      return `prompt text ${cut(p.question)}`;
    }
    case 'prompt_cancelled':
      return `prompt_cancelled ${e.reason}`;
    case 'exit':
      return `exit ${e.code}`;
  }
}

export interface ReplayOptions {
  permissions?: PermissionMode;
  resumeSessionId?: string;
  /** How the "user" answers each prompt (the fixture's own answer, as a structured answer). */
  answer?: (prompt: AgentPrompt) => PromptAnswer;
  /** False to replay as if start() had not finished (e.g. an unknown --resume id). */
  started?: boolean;
}

export interface ReplayResult {
  events: AgentEvent[];
  shown: string[];
  sent: unknown[];
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function options(o: ReplayOptions): AgentStartOptions {
  return {
    executable: '/nonexistent/agent',
    cwd: '/home/user/project',
    permissions: o.permissions ?? 'approval',
    resumeSessionId: o.resumeSessionId ?? null,
    logFile: join(tmpdir(), 'unused-thread.log'),
    threadLog: new ThreadLog(join(tmpdir(), `bhw-replay-${process.pid}.log`)),
  };
}

type Session = ClaudeSession | CodexSession;

function wire(session: Session, o: ReplayOptions, started: boolean): ReplayResult {
  const result: ReplayResult = { events: [], shown: [], sent: [] };
  session.onEvent((e) => {
    result.events.push(e);
    result.shown.push(show(e));
    if (e.type === 'prompt' && o.answer) void session.answerPrompt(e.prompt.id, o.answer(e.prompt));
  });
  session.attachReplay((m) => result.sent.push(JSON.parse(JSON.stringify(m))), started);
  return result;
}

/** Claude: every driver stdin line must be what our adapter writes (request ids of our own requests aside). */
export async function replayClaude(name: string, o: ReplayOptions = {}): Promise<ReplayResult> {
  const session = new ClaudeSession(options(o));
  const r = wire(session, o, o.started ?? true);
  for (const rec of loadFixture(name)) {
    if (rec.dir === 'stdout') session.handleLine(JSON.stringify(rec.msg));
    if (rec.dir !== 'stdin') continue;
    const msg = rec.msg as {
      type: string;
      message?: { content: string };
      request?: { subtype: string };
      response?: { request_id: string };
    };
    const before = r.sent.length;
    if (msg.type === 'user') {
      await session.sendTurn(msg.message!.content);
      assert.deepEqual(r.sent.at(-1), msg, `${name}: user line`);
    } else if (msg.type === 'control_response') {
      const ours = r.sent.find((s) => (s as typeof msg).response?.request_id === msg.response!.request_id);
      assert.deepEqual(ours, msg, `${name}: control_response for ${msg.response!.request_id}`);
    } else if (msg.type === 'control_request' && msg.request!.subtype === 'interrupt') {
      void session.interrupt();
      await flush();
      assert.equal(r.sent.length, before + 1);
      assert.deepEqual(
        { ...(r.sent.at(-1) as object), request_id: 'ID' },
        { ...msg, request_id: 'ID' },
        `${name}: interrupt`,
      );
    } else if (msg.type === 'control_request' && msg.request!.subtype === 'initialize') {
      void (session as unknown as { handshake(): Promise<void> }).handshake();
      assert.deepEqual(
        { ...(r.sent.at(-1) as object), request_id: 'ID' },
        { ...msg, request_id: 'ID' },
        `${name}: initialize`,
      );
    }
    // set_permission_mode is the capture driver's own experiment; the worker never sends it.
  }
  return r;
}

/** Keys our request may add to a fixture request's params (we always pass them when configured). */
const EXTRA_PARAMS = new Set(['excludeTurns', 'model', 'effort']);

/** Codex: method and id equal, params with the fixture's keys (values are policy-dependent), answers equal. */
export async function replayCodex(name: string, o: ReplayOptions = {}): Promise<ReplayResult> {
  const session = new CodexSession(options(o));
  const r = wire(session, o, true);
  let cursor = 0;
  void (session as unknown as { handshake(): Promise<void> }).handshake().catch(() => undefined);
  for (const rec of loadFixture(name)) {
    if (rec.dir === 'stdout') {
      session.handleLine(JSON.stringify(rec.msg));
      await flush();
      continue;
    }
    if (rec.dir !== 'stdin') continue;
    const msg = rec.msg as { method?: string; id?: number; params?: Record<string, unknown>; result?: unknown };
    if (msg.method === 'turn/start') {
      const input = msg.params!.input as Array<{ text: string }>;
      void session.sendTurn(input[0].text);
    } else if (msg.method === 'turn/interrupt') {
      void session.interrupt();
    }
    await flush();
    const ours = r.sent[cursor++] as typeof msg | undefined;
    assert.ok(ours, `${name}: we sent nothing where the driver sent ${JSON.stringify(msg).slice(0, 120)}`);
    if (msg.method === undefined) {
      assert.deepEqual(ours, msg, `${name}: answer to server request ${msg.id}`);
      continue;
    }
    assert.equal(ours.method, msg.method, `${name}: method`);
    assert.equal(ours.id, msg.id, `${name}: id of ${msg.method}`);
    const theirs = Object.keys(msg.params ?? {});
    const mine = Object.keys(ours.params ?? {});
    assert.deepEqual(
      mine.filter((k) => !EXTRA_PARAMS.has(k)),
      theirs,
      `${name}: ${msg.method} params keys`,
    );
    if (msg.method === 'turn/start' || msg.method === 'turn/interrupt')
      assert.deepEqual(ours.params, msg.params, `${name}: ${msg.method} params`);
  }
  assert.equal(cursor, r.sent.length, `${name}: we sent more than the driver did`);
  return r;
}
