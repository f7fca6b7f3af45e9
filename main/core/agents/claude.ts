/**
 * Claude Code adapter (decisions §7, agents.md §1 and §5): one long-lived
 * `claude -p --output-format stream-json --input-format stream-json ...` process per thread, user turns and
 * control responses as JSON lines on stdin, NDJSON on stdout. Every stdout line is parsed with a tolerant zod
 * schema; unknown types, subtypes and fields are ignored.
 */
import { z } from 'zod';
import { newPromptId, newUuid } from '../ids';
import { DEFAULT_DENY_MESSAGE } from './answers';
import { BaseAgentSession, type OpenPrompt } from './base';
import type { AgentPrompt, AgentStartOptions, PromptAnswer, TurnUsage } from './types';

const num0 = z.number().catch(0);

const SystemLine = z.looseObject({
  subtype: z.string().catch(''),
  session_id: z.string().optional().catch(undefined),
});

const ContentBlock = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z.looseObject({ type: z.literal('thinking'), thinking: z.string() }),
  z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
  z.looseObject({
    type: z.literal('tool_result'),
    tool_use_id: z.string(),
    content: z.unknown().optional(),
    is_error: z.boolean().optional().catch(undefined),
  }),
]);

const MessageLine = z.looseObject({
  message: z.looseObject({ content: z.union([z.string(), z.array(z.unknown())]) }),
});

const ResultLine = z.looseObject({
  subtype: z.string().catch('unknown'),
  is_error: z.boolean().catch(false),
  duration_ms: num0,
  total_cost_usd: z.number().optional().catch(undefined),
  stop_reason: z.string().nullable().optional().catch(null),
  terminal_reason: z.string().optional().catch(undefined),
  usage: z
    .looseObject({
      input_tokens: num0,
      cache_read_input_tokens: num0,
      cache_creation_input_tokens: num0,
      output_tokens: num0,
    })
    .catch({ input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 0 }),
  errors: z.array(z.string()).optional().catch(undefined),
  result: z.string().optional().catch(undefined),
});

const ControlRequestLine = z.looseObject({
  request_id: z.string(),
  request: z.looseObject({ subtype: z.string() }),
});

const CanUseTool = z.looseObject({
  tool_name: z.string(),
  input: z.record(z.string(), z.unknown()).catch({}),
  tool_use_id: z.string().optional().catch(undefined),
  description: z.string().optional().catch(undefined),
  decision_reason: z.string().optional().catch(undefined),
  title: z.string().optional().catch(undefined),
});

const AskUserQuestionInput = z.looseObject({
  questions: z
    .array(
      z.looseObject({
        question: z.string(),
        header: z.string().optional().catch(undefined),
        multiSelect: z.boolean().optional().catch(false),
        options: z
          .array(z.looseObject({ label: z.string(), description: z.string().optional().catch(undefined) }))
          .catch([]),
      }),
    )
    .min(1),
});

const ControlResponseLine = z.looseObject({
  response: z.looseObject({
    subtype: z.string(),
    request_id: z.string(),
    response: z.unknown().optional(),
    error: z.string().optional().catch(undefined),
  }),
});

const CancelLine = z.looseObject({ request_id: z.string() });

/** What answering a can_use_tool needs: the request id and the original tool input (echoed on allow). */
interface ClaudeWire {
  requestId: string;
  input: Record<string, unknown>;
}

/** A tool_result's content is a string or an array of blocks; non-text blocks become a placeholder. */
export function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content);
  return content
    .map((b) => {
      const { type, text } = (b && typeof b === 'object' ? b : {}) as { type?: unknown; text?: unknown };
      if (type === 'text') return typeof text === 'string' ? text : '';
      return `[${typeof type === 'string' ? type : 'block'}]`;
    })
    .join('\n');
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
        return this.onSystem(msg);
      case 'assistant':
      case 'user':
        return this.onMessage(msg);
      case 'result':
        return this.onResult(msg);
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

  private onSystem(msg: Record<string, unknown>): void {
    const parsed = SystemLine.safeParse(msg);
    if (!parsed.success) return this.skip('malformed system line');
    const line = parsed.data;
    switch (line.subtype) {
      case 'init':
        if (line.session_id) this.setSessionId(line.session_id);
        return;
      case 'api_retry': {
        const { attempt, max_retries: max, error_status: status, error, retry_delay_ms: delay } = msg;
        const detail = [
          typeof attempt === 'number' ? `attempt ${attempt}${typeof max === 'number' ? `/${max}` : ''}` : null,
          [status, error].filter((x) => typeof x === 'string' || typeof x === 'number').join(' ') || null,
          typeof delay === 'number' ? `retrying in ${Math.round(delay)} ms` : null,
        ].filter(Boolean);
        return this.emit({ type: 'status', status: 'api_retry', detail: detail.join(', ') || undefined });
      }
      case 'status': {
        if (typeof msg.status === 'string') return this.emit({ type: 'status', status: msg.status });
        if (typeof msg.permissionMode === 'string') {
          return this.emit({ type: 'status', status: 'permission_mode', detail: msg.permissionMode });
        }
        return;
      }
      case 'compact_boundary': {
        const meta = msg.compact_metadata as { trigger?: unknown; pre_tokens?: unknown } | undefined;
        const detail =
          meta && typeof meta === 'object'
            ? [meta.trigger, typeof meta.pre_tokens === 'number' ? `${meta.pre_tokens} tokens before` : undefined]
                .filter(Boolean)
                .join(', ')
            : undefined;
        return this.emit({ type: 'status', status: 'compacted', detail: detail || undefined });
      }
      case 'permission_denied':
        return this.emit({
          type: 'status',
          status: 'permission_denied',
          detail: typeof msg.message === 'string' ? msg.message : undefined,
        });
      default:
        return; // thinking_tokens, hooks, tasks, ...
    }
  }

  private onMessage(msg: Record<string, unknown>): void {
    const parsed = MessageLine.safeParse(msg);
    if (!parsed.success) return this.skip(`malformed ${String(msg.type)} line`);
    const content = parsed.data.message.content;
    if (typeof content === 'string') return; // a plain user echo; assistant text always comes as blocks
    for (const raw of content) {
      const block = ContentBlock.safeParse(raw);
      if (!block.success) continue; // image, redacted_thinking, server tool blocks, "[Request interrupted]" text in user lines...
      const b = block.data;
      if (msg.type === 'assistant') {
        if (b.type === 'text' && b.text) this.emit({ type: 'text', text: b.text });
        else if (b.type === 'thinking' && b.thinking) this.emit({ type: 'thinking', text: b.thinking });
        else if (b.type === 'tool_use')
          this.emit({ type: 'tool_call', name: b.name, invocationId: b.id, input: b.input ?? {} });
      } else if (b.type === 'tool_result') {
        this.emit({
          type: 'tool_result',
          invocationId: b.tool_use_id,
          output: toolResultText(b.content),
          isError: b.is_error === true,
        });
      }
    }
  }

  private onResult(msg: Record<string, unknown>): void {
    const parsed = ResultLine.safeParse(msg);
    if (!parsed.success) return this.skip('malformed result line');
    const r = parsed.data;
    if (!this.started) return; // e.g. the error result of an unknown --resume id; start() reports the exit
    // A can_use_tool cannot be answered once its turn is over.
    this.cancelPrompts('turn_ended');
    this.turnsOutstanding = Math.max(0, this.turnsOutstanding - 1);
    const interrupted = r.terminal_reason?.startsWith('aborted') ?? false;
    const outcome =
      r.subtype === 'success' && !r.is_error
        ? 'completed'
        : interrupted
          ? 'interrupted'
          : r.subtype === 'success'
            ? 'failed'
            : r.subtype;
    const u = r.usage;
    const usage: TurnUsage = {
      input_tokens: u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
      input_tokens_cached: u.cache_read_input_tokens,
      output_tokens: u.output_tokens,
      duration_ms: r.duration_ms,
      ...(r.total_cost_usd !== undefined ? { cost_usd: r.total_cost_usd } : {}),
      stop_reason: r.stop_reason ?? null,
      is_error: r.is_error,
      outcome,
    };
    this.emit({ type: 'turn_end', usage });
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
    const { tool_name: name, input, tool_use_id: toolUseId } = req.data;
    const wire: ClaudeWire = { requestId, input };
    if (name === 'AskUserQuestion') {
      const ask = AskUserQuestionInput.safeParse(input);
      if (!ask.success) {
        this.skip('malformed AskUserQuestion input');
        return this.respond(requestId, {
          behavior: 'deny',
          message: 'The question could not be shown to the user (malformed input).',
        });
      }
      const prompt: AgentPrompt = {
        id: newPromptId(),
        kind: 'ask_user_question',
        questions: ask.data.questions.map((q) => ({
          question: q.question,
          ...(q.header ? { header: q.header } : {}),
          multi_select: q.multiSelect === true,
          options: q.options.map((o) => ({ label: o.label, ...(o.description ? { description: o.description } : {}) })),
        })),
      };
      return this.openPrompt(prompt, wire);
    }
    if (this.options.permissions === 'autonomous') {
      // decisions §7: autonomous = the adapter allows every tool itself, echoing the input.
      return this.respond(requestId, { behavior: 'allow', updatedInput: input });
    }
    const reason = req.data.decision_reason ?? req.data.title ?? req.data.description;
    this.openPrompt(
      {
        id: newPromptId(),
        kind: 'approval',
        tool: { name, invocation_id: toolUseId ?? requestId, input },
        ...(reason ? { reason } : {}),
      },
      wire,
    );
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
