/**
 * Codex adapter (decisions §7, agents.md §3.4 and §5): one `codex app-server` process per thread, JSON-RPC
 * over stdio without the "jsonrpc" member. initialize → initialized → thread/start|thread/resume, then one
 * turn/start per user message (queued here while a turn runs). Server→client requests (approvals,
 * requestUserInput) become prompts; any other server request gets an error response so codex never hangs.
 */
import { z } from 'zod';
import { WorkerError } from '../errors';
import { newPromptId } from '../ids';
import { VERSION } from '../../version';
import { BaseAgentSession, type OpenPrompt } from './base';
import type { AgentPrompt, AgentStartOptions, PromptAnswer } from './types';

/** Tool names the Codex adapter reports in tool_call events and approval prompts. */
export const CODEX_TOOLS = { command: 'commandExecution', fileChange: 'fileChange' } as const;

const RpcId = z.union([z.number(), z.string()]);
const Envelope = z.looseObject({
  id: RpcId.optional(),
  method: z.string().optional(),
  params: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.looseObject({ code: z.number().optional().catch(undefined), message: z.string().catch('') }).optional(),
});

const optStr = z.string().nullable().optional().catch(undefined);

const Change = z.looseObject({
  path: z.string(),
  kind: z
    .union([z.string(), z.looseObject({ type: z.string() })])
    .optional()
    .catch(undefined),
  diff: optStr,
});

const Item = z.looseObject({ type: z.string(), id: z.string() });
const CommandItem = z.looseObject({
  command: z.string().catch(''),
  cwd: optStr,
  status: optStr,
  aggregatedOutput: optStr,
  exitCode: z.number().nullable().optional().catch(undefined),
});
const FileChangeItem = z.looseObject({ changes: z.array(Change).catch([]), status: optStr });
const McpItem = z.looseObject({
  server: z.string().catch(''),
  tool: z.string().catch(''),
  arguments: z.unknown().optional(),
  status: optStr,
  result: z.unknown().optional(),
  error: z
    .looseObject({ message: z.string().catch('') })
    .nullable()
    .optional()
    .catch(undefined),
});
const TextList = z.array(z.unknown()).catch([]);

const ItemParams = z.looseObject({ item: z.looseObject({}), turnId: optStr });
const TurnParams = z.looseObject({
  turn: z.looseObject({
    id: z.string(),
    status: z.string().catch('unknown'),
    durationMs: z.number().nullable().optional().catch(undefined),
    error: z
      .looseObject({ message: z.string().catch('') })
      .nullable()
      .optional()
      .catch(undefined),
  }),
});
const TokenUsageParams = z.looseObject({
  turnId: optStr,
  tokenUsage: z.looseObject({
    last: z.looseObject({
      inputTokens: z.number().catch(0),
      cachedInputTokens: z.number().catch(0),
      outputTokens: z.number().catch(0),
    }),
  }),
});
const ThreadResult = z.looseObject({ thread: z.looseObject({ id: z.string() }) });
const TurnStartResult = z.looseObject({ turn: z.looseObject({ id: z.string() }) });

const CommandApproval = z.looseObject({ itemId: z.string().catch(''), command: optStr, cwd: optStr, reason: optStr });
const FileApproval = z.looseObject({ itemId: z.string().catch(''), reason: optStr });
const LegacyExecApproval = z.looseObject({
  callId: z.string().catch(''),
  command: z.union([z.array(z.string()), z.string()]).catch(''),
  cwd: optStr,
  reason: optStr,
});
const LegacyPatchApproval = z.looseObject({
  callId: z.string().catch(''),
  fileChanges: z.record(z.string(), z.unknown()).catch({}),
  reason: optStr,
});
const UserInputRequest = z.looseObject({
  questions: z
    .array(
      z.looseObject({
        id: z.string(),
        question: z.string(),
        header: optStr,
        options: z
          .array(z.looseObject({ label: z.string(), description: optStr }))
          .nullable()
          .optional()
          .catch(null),
      }),
    )
    .min(1),
});

type CodexWire =
  | { requestId: string | number; style: 'v2' | 'legacy' }
  | { requestId: string | number; style: 'userInput'; questionIds: Record<string, string> };

function kindText(kind: z.infer<typeof Change>['kind']): string {
  if (!kind) return 'update';
  return typeof kind === 'string' ? kind : kind.type;
}

function joinTexts(list: unknown[]): string {
  return list
    .map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' && 'text' in x ? String(x.text) : ''))
    .filter(Boolean)
    .join('\n');
}

function mcpResultText(result: unknown): string {
  if (result === undefined || result === null) return '';
  const content = (result as { content?: unknown }).content;
  if (Array.isArray(content)) return joinTexts(content);
  return JSON.stringify(result);
}

export class CodexSession extends BaseAgentSession<CodexWire> {
  readonly type = 'codex' as const;
  protected readonly displayName = 'Codex';
  private nextId = 0;
  private turnActive = false;
  private turnId: string | null = null;
  private turnStartedAt = 0;
  private interruptWanted = false;
  private readonly queue: string[] = [];
  /** The last `error` notification of this turn, so turn/completed does not repeat it. */
  private lastError: string | undefined;
  private lastUsage: { inputTokens: number; cachedInputTokens: number; outputTokens: number } | null = null;
  /** fileChange items by id: an approval request names only the item, the diff is on the item. */
  private readonly fileChanges = new Map<string, Array<{ path: string; kind: string; diff?: string }>>();

  constructor(options: AgentStartOptions) {
    super(options);
  }

  get busy(): boolean {
    return this.turnActive || this.queue.length > 0;
  }

  protected args(): string[] {
    return ['app-server'];
  }

  private request(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    const waiting = this.pending.track(id);
    this.write({ method, id, params });
    return waiting;
  }

  private policy(): { approvalPolicy: string; sandbox: string } {
    return this.options.permissions === 'autonomous'
      ? { approvalPolicy: 'never', sandbox: 'danger-full-access' }
      : { approvalPolicy: 'untrusted', sandbox: 'workspace-write' };
  }

  protected async handshake(): Promise<void> {
    const o = this.options;
    await this.call('initialize', {
      clientInfo: { name: 'blobhub_worker', title: 'BlobHub Worker', version: VERSION },
      capabilities: null,
    });
    this.write({ method: 'initialized' });
    const common = { cwd: o.cwd, ...this.policy(), ...(o.model ? { model: o.model } : {}) };
    const result = o.resumeSessionId
      ? await this.call('thread/resume', { threadId: o.resumeSessionId, ...common, excludeTurns: true })
      : await this.call('thread/start', common);
    const parsed = ThreadResult.safeParse(result);
    if (!parsed.success) throw new WorkerError('AGENT_CRASHED', 'Codex answered thread/start without a thread id.');
    this.setSessionId(parsed.data.thread.id);
  }

  /** A request whose JSON-RPC error becomes a WorkerError naming the method (e.g. an unknown resume id). */
  private async call(method: string, params: unknown): Promise<unknown> {
    try {
      return await this.request(method, params);
    } catch (e) {
      if (e instanceof WorkerError) throw e;
      throw new WorkerError('AGENT_CRASHED', `Codex ${method} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async sendTurn(text: string): Promise<void> {
    this.requireRunning();
    if (!this.currentSessionId) throw new WorkerError('INTERNAL_ERROR', 'Codex thread is not started.');
    if (this.turnActive) {
      this.queue.push(text);
      return;
    }
    await this.startTurn(text);
  }

  private async startTurn(text: string): Promise<void> {
    this.turnActive = true;
    this.turnId = null;
    this.lastUsage = null;
    this.lastError = undefined;
    this.turnStartedAt = Date.now();
    const effort = this.options.effort;
    try {
      const result = await this.request('turn/start', {
        threadId: this.currentSessionId,
        input: [{ type: 'text', text, text_elements: [] }],
        ...(effort ? { effort } : {}),
      });
      const parsed = TurnStartResult.safeParse(result);
      if (parsed.success && this.turnActive && !this.turnId) this.setTurnId(parsed.data.turn.id);
    } catch (e) {
      if (this.proc && !this.proc.running) return; // the exit event reports this
      // The turn never started: report it as a failed turn so the harness's turn bookkeeping stays whole.
      const message = e instanceof Error ? e.message : String(e);
      this.emit({ type: 'status', status: 'error', detail: `turn/start failed: ${message}` });
      this.finishTurn({ status: 'failed', durationMs: Date.now() - this.turnStartedAt });
    }
  }

  private setTurnId(id: string): void {
    this.turnId = id;
    if (this.interruptWanted) {
      this.interruptWanted = false;
      void this.interrupt();
    }
  }

  async interrupt(): Promise<void> {
    if (!this.turnActive) return;
    this.requireRunning();
    if (!this.turnId) {
      this.interruptWanted = true; // turn/start is in flight; interrupt as soon as the turn id is known
      return;
    }
    await this.boundedRequest(
      this.request('turn/interrupt', { threadId: this.currentSessionId, turnId: this.turnId }),
      10_000,
      'turn/interrupt',
    );
  }

  protected override onExited(): void {
    this.turnActive = false;
    this.queue.length = 0;
  }

  private finishTurn(turn: { status: string; durationMs?: number | null }): void {
    this.cancelPrompts('turn_ended');
    const u = this.lastUsage;
    this.turnActive = false;
    this.turnId = null;
    this.interruptWanted = false;
    this.emit({
      type: 'turn_end',
      usage: {
        input_tokens: u?.inputTokens ?? 0,
        input_tokens_cached: u?.cachedInputTokens ?? 0,
        output_tokens: u?.outputTokens ?? 0,
        duration_ms: turn.durationMs ?? Date.now() - this.turnStartedAt,
        stop_reason: turn.status,
        is_error: turn.status !== 'completed',
        outcome: turn.status,
      },
    });
    const next = this.queue.shift();
    if (next !== undefined) void this.startTurn(next);
  }

  protected handleMessage(msg: Record<string, unknown>): void {
    const parsed = Envelope.safeParse(msg);
    if (!parsed.success) return this.skip('malformed JSON-RPC message');
    const m = parsed.data;
    if (m.method !== undefined && m.id !== undefined) return this.onServerRequest(m.id, m.method, m.params);
    if (m.method !== undefined) return this.onNotification(m.method, m.params);
    if (m.id !== undefined) {
      const outcome = m.error
        ? ({
            ok: false,
            error: new Error(`${m.error.message}${m.error.code !== undefined ? ` (code ${m.error.code})` : ''}`),
          } as const)
        : ({ ok: true, value: m.result } as const);
      if (!this.pending.settle(m.id, outcome)) this.skip('response to an unknown request id');
      return;
    }
    this.skip('neither request, response nor notification');
  }

  private onNotification(method: string, params: unknown): void {
    switch (method) {
      case 'item/started':
      case 'item/completed':
        return this.onItem(method === 'item/started', params);
      case 'turn/started': {
        const p = TurnParams.safeParse(params);
        if (p.success && this.turnActive && !this.turnId) this.setTurnId(p.data.turn.id);
        return;
      }
      case 'thread/tokenUsage/updated': {
        const p = TokenUsageParams.safeParse(params);
        // Only this turn's figures: a resumed thread first replays the previous turn's usage.
        if (p.success && this.turnId && p.data.turnId === this.turnId) this.lastUsage = p.data.tokenUsage.last;
        return;
      }
      case 'turn/completed': {
        const p = TurnParams.safeParse(params);
        if (!p.success) return this.skip('malformed turn/completed');
        if (!this.turnActive || (this.turnId && p.data.turn.id !== this.turnId)) return;
        const error = p.data.turn.error?.message;
        if (error && error !== this.lastError) this.emit({ type: 'status', status: 'error', detail: error });
        return this.finishTurn(p.data.turn);
      }
      case 'serverRequest/resolved': {
        // Codex withdrew a request we had not answered (e.g. the turn was interrupted).
        const id = (params as { requestId?: unknown } | undefined)?.requestId;
        return this.cancelPrompts('agent_cancelled', (open) => open.wire.requestId === id);
      }
      case 'error': {
        const p = params as { error?: { message?: unknown }; willRetry?: unknown } | undefined;
        const message = typeof p?.error?.message === 'string' ? p.error.message : undefined;
        this.lastError = message;
        return this.emit({ type: 'status', status: p?.willRetry === true ? 'api_retry' : 'error', detail: message });
      }
      default:
        return; // deltas, thread/status/changed, configWarning, rateLimits, ...
    }
  }

  private onItem(started: boolean, params: unknown): void {
    const p = ItemParams.safeParse(params);
    if (!p.success) return this.skip('malformed item notification');
    const head = Item.safeParse(p.data.item);
    if (!head.success) return this.skip('item without type or id');
    const { type, id } = head.data;
    const item = p.data.item;
    switch (type) {
      case 'agentMessage': {
        const text = typeof item.text === 'string' ? item.text : '';
        if (!started && text) this.emit({ type: 'text', text });
        return;
      }
      case 'reasoning': {
        if (started) return;
        const text = [joinTexts(TextList.parse(item.summary)), joinTexts(TextList.parse(item.content))]
          .filter(Boolean)
          .join('\n');
        if (text) this.emit({ type: 'thinking', text });
        return;
      }
      case 'commandExecution': {
        const c = CommandItem.parse(item);
        if (started) {
          return this.emit({
            type: 'tool_call',
            name: CODEX_TOOLS.command,
            invocationId: id,
            input: { command: c.command, ...(c.cwd ? { cwd: c.cwd } : {}) },
          });
        }
        const failed =
          c.status === 'declined' || c.status === 'failed' || (typeof c.exitCode === 'number' && c.exitCode !== 0);
        const output = c.aggregatedOutput ?? (c.status === 'declined' ? 'Declined by the user' : '');
        return this.emit({ type: 'tool_result', invocationId: id, output, isError: failed });
      }
      case 'fileChange': {
        const f = FileChangeItem.parse(item);
        const changes = f.changes.map((ch) => ({
          path: ch.path,
          kind: kindText(ch.kind),
          ...(ch.diff ? { diff: ch.diff } : {}),
        }));
        if (started) {
          this.fileChanges.set(id, changes);
          return this.emit({ type: 'tool_call', name: CODEX_TOOLS.fileChange, invocationId: id, input: { changes } });
        }
        this.fileChanges.delete(id);
        const lines = changes.map((ch) => `${ch.kind} ${ch.path}`);
        const ok = f.status === 'completed';
        return this.emit({
          type: 'tool_result',
          invocationId: id,
          output: [`${f.status ?? 'unknown'}:`, ...lines].join('\n'),
          isError: !ok,
        });
      }
      case 'mcpToolCall': {
        const t = McpItem.parse(item);
        if (started)
          return this.emit({
            type: 'tool_call',
            name: `mcp__${t.server}__${t.tool}`,
            invocationId: id,
            input: t.arguments ?? {},
          });
        const isError = Boolean(t.error) || t.status === 'failed';
        return this.emit({
          type: 'tool_result',
          invocationId: id,
          output: t.error?.message ?? mcpResultText(t.result),
          isError,
        });
      }
      default:
        return; // userMessage, webSearch, plan, ... are not bridged
    }
  }

  private reply(id: string | number, result: unknown): void {
    this.write({ id, result });
  }

  private onServerRequest(id: string | number, method: string, params: unknown): void {
    let prompt: AgentPrompt | null = null;
    let wire: CodexWire = { requestId: id, style: 'v2' };
    switch (method) {
      case 'item/commandExecution/requestApproval': {
        const p = CommandApproval.safeParse(params ?? {});
        if (!p.success) break;
        prompt = this.approval(
          CODEX_TOOLS.command,
          p.data.itemId,
          { command: p.data.command ?? '', ...(p.data.cwd ? { cwd: p.data.cwd } : {}) },
          p.data.reason,
        );
        break;
      }
      case 'item/fileChange/requestApproval': {
        const p = FileApproval.safeParse(params ?? {});
        if (!p.success) break;
        prompt = this.approval(
          CODEX_TOOLS.fileChange,
          p.data.itemId,
          { changes: this.fileChanges.get(p.data.itemId) ?? [] },
          p.data.reason,
        );
        break;
      }
      case 'execCommandApproval': {
        const p = LegacyExecApproval.safeParse(params ?? {});
        if (!p.success) break;
        const command = Array.isArray(p.data.command) ? p.data.command.join(' ') : p.data.command;
        prompt = this.approval(
          CODEX_TOOLS.command,
          p.data.callId,
          { command, ...(p.data.cwd ? { cwd: p.data.cwd } : {}) },
          p.data.reason,
        );
        wire = { requestId: id, style: 'legacy' };
        break;
      }
      case 'applyPatchApproval': {
        const p = LegacyPatchApproval.safeParse(params ?? {});
        if (!p.success) break;
        const changes = Object.keys(p.data.fileChanges).map((path) => ({ path, kind: 'update' }));
        prompt = this.approval(CODEX_TOOLS.fileChange, p.data.callId, { changes }, p.data.reason);
        wire = { requestId: id, style: 'legacy' };
        break;
      }
      case 'item/tool/requestUserInput': {
        const p = UserInputRequest.safeParse(params ?? {});
        if (!p.success) break;
        const questionIds: Record<string, string> = {};
        prompt = {
          id: newPromptId(),
          kind: 'ask_user_question',
          questions: p.data.questions.map((q) => {
            questionIds[q.question] = q.id;
            return {
              question: q.question,
              ...(q.header ? { header: q.header } : {}),
              multi_select: false,
              options: (q.options ?? []).map((o) => ({
                label: o.label,
                ...(o.description ? { description: o.description } : {}),
              })),
            };
          }),
        };
        wire = { requestId: id, style: 'userInput', questionIds };
        break;
      }
      default:
        this.write({ id, error: { code: -32601, message: `Unsupported request: ${method}` } });
        return;
    }
    if (!prompt) {
      this.skip(`malformed ${method} request`);
      this.write({ id, error: { code: -32602, message: `Malformed ${method} params` } });
      return;
    }
    if (prompt.kind === 'approval' && this.options.permissions === 'autonomous') {
      // "never" should not ask at all; if it does anyway, autonomous means allowed.
      this.deliverAnswer({ prompt, wire }, { kind: 'approval', decision: 'allow' });
      return;
    }
    this.openPrompt(prompt, wire);
  }

  private approval(
    name: string,
    invocationId: string,
    input: Record<string, unknown>,
    reason: string | null | undefined,
  ): AgentPrompt {
    return {
      id: newPromptId(),
      kind: 'approval',
      tool: { name, invocation_id: invocationId, input },
      ...(reason ? { reason } : {}),
    };
  }

  protected deliverAnswer(open: OpenPrompt<CodexWire>, answer: PromptAnswer): void {
    const wire = open.wire;
    if (wire.style === 'userInput') {
      if (answer.kind === 'approval' && answer.decision === 'deny') {
        this.write({ id: wire.requestId, error: { code: -32000, message: answer.message ?? 'Declined by the user' } });
        return;
      }
      const answers: Record<string, { answers: string[] }> = {};
      const given = answer.kind === 'ask_user_question' ? answer.answers : {};
      for (const [question, qid] of Object.entries(wire.questionIds)) {
        const value = given[question] ?? (answer.kind === 'text' ? answer.text : undefined);
        if (value !== undefined) answers[qid] = { answers: [value] };
      }
      return this.reply(wire.requestId, { answers });
    }
    // Codex has no deny message: a decline is all the model learns (see docs/agents.md).
    const allow = !(answer.kind === 'approval' && answer.decision === 'deny');
    const decision = wire.style === 'legacy' ? (allow ? 'approved' : 'denied') : allow ? 'accept' : 'decline';
    this.reply(wire.requestId, { decision });
  }
}
