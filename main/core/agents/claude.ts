/**
 * Claude Code adapter (protocol §7, docs/agents.md): one long-lived
 * `claude -p --output-format stream-json --input-format stream-json ...` process per thread, user turns and
 * control responses as JSON lines on stdin, NDJSON on stdout. Every stdout line is parsed with a tolerant zod
 * schema; unknown types, subtypes and fields are ignored.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { newUuid } from '../ids';
import { DEFAULT_DENY_MESSAGE } from './answers';
import { BaseAgentSession, type OpenPrompt } from './base';
import {
  approvalPrompt,
  askUserQuestionPrompt,
  claudeLineEvents,
  planPrompt,
  sessionSuggestions,
} from './claude-events';
import { isSkipped, type Mapped } from './mapped';
import {
  CancelLine,
  CanUseTool,
  ControlRequestLine,
  ControlResponseLine,
  type AddRulesSuggestion,
} from './claude-wire';
import type { AgentEvent, AgentStartOptions, PromptAnswer } from './types';

export { toolResultText } from './claude-events';

/**
 * What answering a can_use_tool needs: the request id, the original tool input (echoed on allow) and the
 * suggestions re-scoped to the session (sent back on an "always" answer, protocol §9.2a).
 */
interface ClaudeWire {
  requestId: string;
  input: Record<string, unknown>;
  sessionSuggestions: AddRulesSuggestion[];
}

/** Claude Code 2.1.329 keeps the plan in `<config dir>/plans/<name>.md`, written by the model in plan mode. */
const PLAN_FILE = /[\\/]plans[\\/][^\\/]+\.md$/;
const PLAN_MAX_BYTES = 1024 * 1024;

export class ClaudeSession extends BaseAgentSession<ClaudeWire> {
  readonly type = 'claude_code' as const;
  protected readonly displayName = 'Claude Code';
  private turnsOutstanding = 0;
  private nextRequest = 0;
  private readonly resume: boolean;
  /** ExitPlanMode tool_use inputs by id (the plan is there, not in the can_use_tool request), newest last. */
  private readonly planInputs = new Map<string, Record<string, unknown>>();
  /** The plan file the model last wrote in plan mode. */
  private planFile: string | null = null;

  constructor(options: AgentStartOptions) {
    super(options);
    this.resume = Boolean(options.resumeSessionId);
    // The id is ours before the first turn (protocol §6.2): the resume id, or a fresh --session-id UUID.
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
      ...this.grantArgs(),
    ];
  }

  /**
   * Rules granted for the session earlier (protocol §9.2a), re-applied on a respawn: one `--allowedTools` per rule
   * (the flag splits its values at commas and spaces outside parentheses, one rule per value keeps that moot).
   * `--add-dir <work folder>` goes with them: observed with 2.1.329, a command that writes a file in the work
   * folder is checked against the working directories before the command-line rules, and in `-p` mode the
   * work folder is not one of them, so without it the rule is ignored (test/agents/real-claude.test.ts).
   */
  private grantArgs(): string[] {
    const rules = [...new Set(this.options.grantedRules ?? [])].filter((r) => r.trim() !== '');
    if (rules.length === 0) return [];
    return ['--add-dir', this.options.cwd, ...rules.flatMap((r) => ['--allowedTools', r])];
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
      case 'assistant':
        this.notePlan(msg);
        return this.emitMapped(claudeLineEvents(msg));
      case 'system':
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

  /** Remembers where the plan of a coming ExitPlanMode is: its own tool_use input, or the plan file written. */
  private notePlan(msg: Record<string, unknown>): void {
    const content = (msg.message as { content?: unknown } | undefined)?.content;
    if (!Array.isArray(content)) return;
    for (const b of content as Array<Record<string, unknown>>) {
      if (!b || b.type !== 'tool_use' || typeof b.id !== 'string') continue;
      const input = b.input && typeof b.input === 'object' ? (b.input as Record<string, unknown>) : {};
      if (b.name === 'ExitPlanMode') {
        this.planInputs.set(b.id, input);
        if (this.planInputs.size > 16) this.planInputs.delete(this.planInputs.keys().next().value!);
      } else if (
        (b.name === 'Write' || b.name === 'Edit' || b.name === 'MultiEdit') &&
        typeof input.file_path === 'string'
      ) {
        if (PLAN_FILE.test(input.file_path)) this.planFile = input.file_path;
      }
    }
  }

  /** The plan of an ExitPlanMode request: the request's input, the tool_use's input, or the plan file on disk. */
  private planText(input: Record<string, unknown>, toolUseId: string | undefined): string {
    if (typeof input.plan === 'string') return input.plan;
    const fromToolUse = toolUseId ? this.planInputs.get(toolUseId)?.plan : undefined;
    if (typeof fromToolUse === 'string') return fromToolUse;
    if (!this.planFile) return '';
    const path = isAbsolute(this.planFile) ? this.planFile : resolve(this.options.cwd, this.planFile);
    try {
      if (statSync(path).size > PLAN_MAX_BYTES) return `(the plan is in ${path}; it is too large to show here)`;
      return readFileSync(path, 'utf8');
    } catch {
      return '';
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
    const wire: ClaudeWire = { requestId, input, sessionSuggestions: sessionSuggestions(req.data) };
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
      // protocol §7: autonomous = the adapter allows every tool itself, echoing the input (a plan included).
      return this.respond(requestId, { behavior: 'allow', updatedInput: input });
    }
    if (name === 'ExitPlanMode') {
      return this.openPrompt(planPrompt(req.data, requestId, this.planText(input, req.data.tool_use_id)), wire);
    }
    this.openPrompt(approvalPrompt(req.data, requestId, this.options.cwd), wire);
  }

  protected deliverAnswer(open: OpenPrompt<ClaudeWire>, answer: PromptAnswer): void {
    const { requestId, input } = open.wire;
    if (answer.kind === 'approval' && answer.decision === 'deny') {
      return this.respond(requestId, { behavior: 'deny', message: answer.message || DEFAULT_DENY_MESSAGE });
    }
    if (answer.kind === 'ask_user_question') {
      // The answers map is keyed by the full question text (docs/agents.md).
      return this.respond(requestId, { behavior: 'allow', updatedInput: { ...input, answers: answer.answers } });
    }
    if (answer.kind === 'text' && open.prompt.kind === 'text') {
      return this.respond(requestId, { behavior: 'allow', updatedInput: { ...input, response: answer.text } });
    }
    if (answer.kind === 'approval' && answer.scope === 'session' && open.wire.sessionSuggestions.length) {
      // Protocol §9.2a: the suggestions, destination "session" only; the CLI keeps them in memory.
      return this.respond(requestId, {
        behavior: 'allow',
        updatedInput: input,
        updatedPermissions: open.wire.sessionSuggestions,
      });
    }
    this.respond(requestId, { behavior: 'allow', updatedInput: input });
  }
}
