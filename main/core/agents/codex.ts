/**
 * Codex adapter (protocol §7, docs/agents.md): one `codex app-server` process per thread, JSON-RPC
 * over stdio without the "jsonrpc" member. initialize → initialized → thread/start|thread/resume, then one
 * turn/start per user message (queued here while a turn runs). Server→client requests (approvals,
 * requestUserInput) become prompts; any other server request gets an error response so codex never hangs.
 */
import { WorkerError } from '../errors';
import { VERSION } from '../../version';
import { BaseAgentSession, type OpenPrompt } from './base';
import { errorNotificationEvent, itemEvents, serverRequestPrompt, type FileChangeSummary } from './codex-events';
import { Envelope, ThreadResult, TokenUsageParams, TurnParams, TurnStartResult, type CodexWire } from './codex-wire';
import { isSkipped } from './mapped';
import type { AgentStartOptions, PromptAnswer } from './types';

export { CODEX_TOOLS } from './codex-events';

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
  private readonly fileChanges = new Map<string, FileChangeSummary[]>();

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
        const { event, message } = errorNotificationEvent(params);
        this.lastError = message;
        return this.emit(event);
      }
      default:
        return; // deltas, thread/status/changed, configWarning, rateLimits, ...
    }
  }

  private onItem(started: boolean, params: unknown): void {
    const mapped = itemEvents(started, params);
    if (isSkipped(mapped)) return this.skip(mapped.skip);
    if (mapped.type === 'fileChange') {
      if (started && mapped.changes) this.fileChanges.set(mapped.id, mapped.changes);
      else this.fileChanges.delete(mapped.id);
    }
    for (const event of mapped.events) this.emit(event);
  }

  private reply(id: string | number, result: unknown): void {
    this.write({ id, result });
  }

  private onServerRequest(id: string | number, method: string, params: unknown): void {
    const mapped = serverRequestPrompt(id, method, params, (itemId) => this.fileChanges.get(itemId), this.options.cwd);
    if ('unsupported' in mapped) {
      this.write({ id, error: { code: -32601, message: `Unsupported request: ${method}` } });
      return;
    }
    if (isSkipped(mapped)) {
      this.skip(mapped.skip);
      this.write({ id, error: { code: -32602, message: `Malformed ${method} params` } });
      return;
    }
    const { prompt, wire } = mapped;
    if (prompt.kind === 'approval' && this.options.permissions === 'autonomous') {
      // "never" should not ask at all; if it does anyway, autonomous means allowed.
      this.deliverAnswer({ prompt, wire }, { kind: 'approval', decision: 'allow' });
      return;
    }
    this.openPrompt(prompt, wire);
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
    // Protocol §9.2a: "always" is Codex's own session approval (the app-server remembers it until it exits).
    const session = allow && answer.kind === 'approval' && answer.scope === 'session';
    const decision =
      wire.style === 'legacy'
        ? allow
          ? session
            ? 'approved_for_session'
            : 'approved'
          : 'denied'
        : allow
          ? session
            ? 'acceptForSession'
            : 'accept'
          : 'decline';
    this.reply(wire.requestId, { decision });
  }
}
