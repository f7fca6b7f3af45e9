/**
 * Claude Code adapter (decisions §7, agents.md §1 and §5): one long-lived
 * `claude -p --output-format stream-json --input-format stream-json ...` process per thread, user turns and
 * control responses as JSON lines on stdin, NDJSON on stdout. Every stdout line is parsed with a tolerant zod
 * schema; unknown types, subtypes and fields are ignored.
 */
import { newUuid } from '../ids';
import { DEFAULT_DENY_MESSAGE } from './answers';
import { BaseAgentSession, type OpenPrompt } from './base';
import { approvalPrompt, askUserQuestionPrompt, claudeLineEvents } from './claude-events';
import { isSkipped, type Mapped } from './mapped';
import { CancelLine, CanUseTool, ControlRequestLine, ControlResponseLine } from './claude-wire';
import type { AgentEvent, AgentStartOptions, PromptAnswer } from './types';

export { toolResultText } from './claude-events';

/** What answering a can_use_tool needs: the request id and the original tool input (echoed on allow). */
interface ClaudeWire {
  requestId: string;
  input: Record<string, unknown>;
}

export class ClaudeSession extends BaseAgentSession<ClaudeWire> {
  readonly type = 'claude_code' as const;
  protected readonly displayName = 'Claude Code';
  private turnsOutstanding = 0;
  private nextRequest = 0;
  private readonly resume: boolean;

  constructor(options: AgentStartOptions) {
    super(options);
    this.resume = Boolean(options.resumeSessionId);
    // The id is ours before the first turn (decisions §6.2): the resume id, or a fresh --session-id UUID.
    this.currentSessionId = options.resumeSessionId || options.newSessionId || newUuid();
  }

  get busy(): boolean {
    return this.turnsOutstanding > 0;
  }

  protected args(): string[] {
    const o = this.options;
    return [
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
      ...(this.resume ? ['--resume', this.currentSessionId!] : ['--session-id', this.currentSessionId!]),
      ...(o.model ? ['--model', o.model] : []),
      ...(o.effort ? ['--effort', o.effort] : []),
    ];
  }

  /** Our own control request (initialize, interrupt); resolves with the CLI's success response. */
  private controlRequest(subtype: string, prefix: string): Promise<unknown> {
    const requestId = `${prefix}_${++this.nextRequest}`;
    const waiting = this.pending.track(requestId);
    this.write({ type: 'control_request', request_id: requestId, request: { subtype } });
    return waiting;
  }

  protected async handshake(): Promise<void> {
    // `initialize` is optional, but its answer proves the CLI is up and accepted the flags (an unknown --resume
    // id exits before answering, which start() reports as AGENT_CRASHED).
    await this.controlRequest('initialize', 'init');
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so a stopped agent rejects instead of throwing
  async sendTurn(text: string): Promise<void> {
    this.requireRunning();
    this.turnsOutstanding++;
    this.write({ type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, session_id: '' });
  }

  async interrupt(): Promise<void> {
    if (!this.busy) return;
    this.requireRunning();
    await this.boundedRequest(this.controlRequest('interrupt', 'intr'), 10_000, 'interrupt');
  }

  protected override onExited(): void {
    this.turnsOutstanding = 0;
  }

  private respond(requestId: string, response: unknown): void {
    this.write({ type: 'control_response', response: { subtype: 'success', request_id: requestId, response } });
  }

  private respondError(requestId: string, error: string): void {
    this.write({ type: 'control_response', response: { subtype: 'error', request_id: requestId, error } });
  }

  protected handleMessage(msg: Record<string, unknown>): void {
    switch (msg.type) {
      case 'system':
      case 'assistant':
      case 'user':
        return this.emitMapped(claudeLineEvents(msg));
      case 'result':
        return this.onResult(claudeLineEvents(msg));
      case 'control_request':
        return this.onControlRequest(msg);
      case 'control_response':
        return this.onControlResponse(msg);
      case 'control_cancel_request': {
        const parsed = CancelLine.safeParse(msg);
        if (!parsed.success) return this.skip('malformed control_cancel_request');
        return this.cancelPrompts('agent_cancelled', (open) => open.wire.requestId === parsed.data.request_id);
      }
      default:
        // keep_alive, stream_event, and whatever newer CLIs add.
        return;
    }
  }

  private emitMapped(mapped: Mapped<AgentEvent[]>): void {
    if (isSkipped(mapped)) return this.skip(mapped.skip);
    for (const event of mapped) {
      if (event.type === 'session') this.setSessionId(event.sessionId);
      else this.emit(event);
    }
  }

  private onResult(mapped: Mapped<AgentEvent[]>): void {
    if (isSkipped(mapped)) return this.skip(mapped.skip);
    if (!this.started) return; // e.g. the error result of an unknown --resume id; start() reports the exit
    // A can_use_tool cannot be answered once its turn is over.
    this.cancelPrompts('turn_ended');
    this.turnsOutstanding = Math.max(0, this.turnsOutstanding - 1);
    this.emitMapped(mapped);
  }

  private onControlResponse(msg: Record<string, unknown>): void {
    const parsed = ControlResponseLine.safeParse(msg);
    if (!parsed.success) return this.skip('malformed control_response');
    const r = parsed.data.response;
    const outcome =
      r.subtype === 'success'
        ? ({ ok: true, value: r.response } as const)
        : ({ ok: false, error: new Error(r.error ?? `control request ${r.request_id} failed`) } as const);
    this.pending.settle(r.request_id, outcome);
  }

  private onControlRequest(msg: Record<string, unknown>): void {
    const parsed = ControlRequestLine.safeParse(msg);
    if (!parsed.success) return this.skip('malformed control_request');
    const { request_id: requestId, request } = parsed.data;
    if (request.subtype !== 'can_use_tool') {
      // hook_callback, mcp_message, elicitation...: we registered none; answer so the CLI never waits on us.
      return this.respondError(requestId, `Unsupported control request: ${request.subtype}`);
    }
    const req = CanUseTool.safeParse(request);
    if (!req.success) {
      this.skip('malformed can_use_tool request');
      return this.respondError(requestId, 'Malformed can_use_tool request');
    }
    const { tool_name: name, input } = req.data;
    const wire: ClaudeWire = { requestId, input };
    if (name === 'AskUserQuestion') {
      const prompt = askUserQuestionPrompt(input);
      if (isSkipped(prompt)) {
        this.skip(prompt.skip);
        return this.respond(requestId, {
          behavior: 'deny',
          message: 'The question could not be shown to the user (malformed input).',
        });
      }
      return this.openPrompt(prompt, wire);
    }
    if (this.options.permissions === 'autonomous') {
      // decisions §7: autonomous = the adapter allows every tool itself, echoing the input.
      return this.respond(requestId, { behavior: 'allow', updatedInput: input });
    }
    this.openPrompt(approvalPrompt(req.data, requestId), wire);
  }

  protected deliverAnswer(open: OpenPrompt<ClaudeWire>, answer: PromptAnswer): void {
    const { requestId, input } = open.wire;
    if (answer.kind === 'approval' && answer.decision === 'deny') {
      return this.respond(requestId, { behavior: 'deny', message: answer.message || DEFAULT_DENY_MESSAGE });
    }
    if (answer.kind === 'ask_user_question') {
      // The answers map is keyed by the full question text (agents.md §1.6).
      return this.respond(requestId, { behavior: 'allow', updatedInput: { ...input, answers: answer.answers } });
    }
    if (answer.kind === 'text' && open.prompt.kind === 'text') {
      return this.respond(requestId, { behavior: 'allow', updatedInput: { ...input, response: answer.text } });
    }
    this.respond(requestId, { behavior: 'allow', updatedInput: input });
  }
}
