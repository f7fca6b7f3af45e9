/**
 * Claude Code stdout lines → agent events, as pure functions (no session state, no I/O). The adapter
 * (claude.ts) owns what depends on the session: control requests and responses, open prompts, the turn count.
 * Each function returns the events of one line, or `{ skip }` with the reason the line was not understood.
 */
import { newPromptId } from '../ids';
import { isSkipped, type Mapped, type Skipped } from './mapped';
import type { AgentEvent, AgentPrompt, TurnUsage } from './types';

export { isSkipped, type Mapped, type Skipped };
import { claudeEditDiff } from './diff';
import {
  AddRulesSuggestion,
  AskUserQuestionInput,
  ContentBlock,
  MessageLine,
  ResultLine,
  SystemLine,
  type ClaudeCanUseTool,
  type ClaudeResultLine,
} from './claude-wire';

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

/** `type: "system"` lines: init carries the session id; retries, status, compaction and denials become status. */
export function systemLineEvents(msg: Record<string, unknown>): Mapped<AgentEvent[]> {
  const parsed = SystemLine.safeParse(msg);
  if (!parsed.success) return { skip: 'malformed system line' };
  const line = parsed.data;
  switch (line.subtype) {
    case 'init':
      return line.session_id ? [{ type: 'session', sessionId: line.session_id }] : [];
    case 'api_retry': {
      const { attempt, max_retries: max, error_status: status, error, retry_delay_ms: delay } = msg;
      const detail = [
        typeof attempt === 'number' ? `attempt ${attempt}${typeof max === 'number' ? `/${max}` : ''}` : null,
        [status, error].filter((x) => typeof x === 'string' || typeof x === 'number').join(' ') || null,
        typeof delay === 'number' ? `retrying in ${Math.round(delay)} ms` : null,
      ].filter(Boolean);
      return [{ type: 'status', status: 'api_retry', detail: detail.join(', ') || undefined }];
    }
    case 'status': {
      if (typeof msg.status === 'string') return [{ type: 'status', status: msg.status }];
      if (typeof msg.permissionMode === 'string') {
        return [{ type: 'status', status: 'permission_mode', detail: msg.permissionMode }];
      }
      return [];
    }
    case 'compact_boundary': {
      const meta = msg.compact_metadata as { trigger?: unknown; pre_tokens?: unknown } | undefined;
      const detail =
        meta && typeof meta === 'object'
          ? [meta.trigger, typeof meta.pre_tokens === 'number' ? `${meta.pre_tokens} tokens before` : undefined]
              .filter(Boolean)
              .join(', ')
          : undefined;
      return [{ type: 'status', status: 'compacted', detail: detail || undefined }];
    }
    case 'permission_denied':
      return [
        {
          type: 'status',
          status: 'permission_denied',
          detail: typeof msg.message === 'string' ? msg.message : undefined,
        },
      ];
    default:
      return []; // thinking_tokens, hooks, tasks, ...
  }
}

/** `assistant` lines give text, thinking and tool calls; `user` lines give tool results. */
export function messageLineEvents(msg: Record<string, unknown>): Mapped<AgentEvent[]> {
  const parsed = MessageLine.safeParse(msg);
  if (!parsed.success) return { skip: `malformed ${String(msg.type)} line` };
  const content = parsed.data.message.content;
  if (typeof content === 'string') return []; // a plain user echo; assistant text always comes as blocks
  const events: AgentEvent[] = [];
  for (const raw of content) {
    const block = ContentBlock.safeParse(raw);
    if (!block.success) continue; // image, redacted_thinking, server tool blocks, "[Request interrupted]" text in user lines...
    const b = block.data;
    if (msg.type === 'assistant') {
      if (b.type === 'text' && b.text) events.push({ type: 'text', text: b.text });
      else if (b.type === 'thinking' && b.thinking) events.push({ type: 'thinking', text: b.thinking });
      else if (b.type === 'tool_use')
        events.push({ type: 'tool_call', name: b.name, invocationId: b.id, input: b.input ?? {} });
    } else if (b.type === 'tool_result') {
      events.push({
        type: 'tool_result',
        invocationId: b.tool_use_id,
        output: toolResultText(b.content),
        isError: b.is_error === true,
      });
    }
  }
  return events;
}

/** The usage and outcome of a turn from its `result` line. */
export function resultUsage(r: ClaudeResultLine): TurnUsage {
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
  return {
    input_tokens: u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
    input_tokens_cached: u.cache_read_input_tokens,
    output_tokens: u.output_tokens,
    duration_ms: r.duration_ms,
    ...(r.total_cost_usd !== undefined ? { cost_usd: r.total_cost_usd } : {}),
    stop_reason: r.stop_reason ?? null,
    is_error: r.is_error,
    outcome,
  };
}

/** `type: "result"` → the turn_end event. */
export function resultLineEvents(msg: Record<string, unknown>): Mapped<AgentEvent[]> {
  const parsed = ResultLine.safeParse(msg);
  if (!parsed.success) return { skip: 'malformed result line' };
  return [{ type: 'turn_end', usage: resultUsage(parsed.data) }];
}

/**
 * The events of one stdout line that do not depend on session state: system, assistant, user and result lines.
 * Control lines, keep_alive, stream_event and unknown types give none (the adapter handles control lines).
 */
export function claudeLineEvents(msg: Record<string, unknown>): Mapped<AgentEvent[]> {
  switch (msg.type) {
    case 'system':
      return systemLineEvents(msg);
    case 'assistant':
    case 'user':
      return messageLineEvents(msg);
    case 'result':
      return resultLineEvents(msg);
    default:
      return [];
  }
}

/** An AskUserQuestion tool input → an ask_user_question prompt (the answer is keyed by question text). */
export function askUserQuestionPrompt(input: unknown): Mapped<AgentPrompt> {
  const ask = AskUserQuestionInput.safeParse(input);
  if (!ask.success) return { skip: 'malformed AskUserQuestion input' };
  return {
    id: newPromptId(),
    kind: 'ask_user_question',
    questions: ask.data.questions.map((q) => ({
      question: q.question,
      ...(q.header ? { header: q.header } : {}),
      multi_select: q.multiSelect === true,
      options: q.options.map((o) => ({ label: o.label, ...(o.description ? { description: o.description } : {}) })),
    })),
  };
}

/** `Tool(content)`, the rule syntax of `--allowedTools` and of Claude Code's settings. */
export function ruleString(rule: { toolName: string; ruleContent?: string }): string {
  return rule.ruleContent ? `${rule.toolName}(${rule.ruleContent})` : rule.toolName;
}

/**
 * Protocol §9.2a: the request's `addRules` allow suggestions with `destination` rewritten to `session`, as
 * `updatedPermissions` entries. Anything else (setMode, addDirectories, deny rules) is left out; no suggestion
 * ever goes back with localSettings / projectSettings / userSettings.
 */
export function sessionSuggestions(req: ClaudeCanUseTool): AddRulesSuggestion[] {
  const out: AddRulesSuggestion[] = [];
  for (const raw of req.permission_suggestions ?? []) {
    const s = AddRulesSuggestion.safeParse(raw);
    if (!s.success || (s.data.behavior !== undefined && s.data.behavior !== 'allow')) continue;
    out.push({
      type: 'addRules',
      rules: s.data.rules.map((r) => ({
        toolName: r.toolName,
        ...(r.ruleContent ? { ruleContent: r.ruleContent } : {}),
      })),
      behavior: 'allow',
      destination: 'session',
    });
  }
  return out;
}

/**
 * A can_use_tool request → an approval prompt: the reason is the CLI's decision reason, title or description;
 * file edits carry a diff against the file on disk now; `session_rules` names what "always" would grant.
 */
export function approvalPrompt(req: ClaudeCanUseTool, requestId: string, cwd: string): AgentPrompt {
  const reason = req.decision_reason ?? req.title ?? req.description;
  const rules = sessionSuggestions(req).flatMap((s) => s.rules.map(ruleString));
  const diff = claudeEditDiff(req.tool_name, req.input, cwd);
  return {
    id: newPromptId(),
    kind: 'approval',
    tool: { name: req.tool_name, invocation_id: req.tool_use_id ?? requestId, input: req.input },
    ...(reason ? { reason } : {}),
    ...(diff ? { diff: diff.diff, diff_summary: diff.summary } : {}),
    ...(rules.length ? { session_rules: [...new Set(rules)] } : {}),
  };
}

/** ExitPlanMode → a plan prompt. The plan text is the caller's to find (see ClaudeSession): it is not in the request. */
export function planPrompt(req: ClaudeCanUseTool, requestId: string, plan: string): AgentPrompt {
  return {
    id: newPromptId(),
    kind: 'plan',
    plan,
    tool: { name: req.tool_name, invocation_id: req.tool_use_id ?? requestId, input: req.input },
  };
}
