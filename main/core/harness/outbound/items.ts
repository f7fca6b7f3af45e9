/**
 * Pure builders for every item the worker posts (protocol §8.1, activity items of §8.1's last paragraph).
 * Each returns a `PostItemInput`: one text block with the brief, and `metadata` carrying `type`,
 * `emission_id` (`em_` + ULID, the idempotency key of §8.3) and the kind's own fields. Activity fields sit
 * directly under `metadata`, next to `type` and `emission_id`.
 */
import type { PostItemInput } from '../../api/types';
import type { AgentEvent, AgentPrompt, PromptAnswer, TurnUsage } from '../../agents/types';
import { newEmissionId } from '../../ids';
import { describeAnswer, formatPromptBrief } from '../../agents/answers';
import { clip, firstChars, oneLine, toolSummary } from '../../agents/tool-summary';

export { clip, firstChars, oneLine, toolSummary };

export const ITEM_KINDS = [
  'text',
  'tool_call',
  'tool_result',
  'thinking',
  'status',
  'turn_end',
  'pending_prompt',
  'pending_prompt_resolved',
] as const;
export const ACTIVITY_KINDS = ['section_attached', 'thread_activated', 'thread_failed', 'thread_stopped'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number] | (typeof ACTIVITY_KINDS)[number];

export const TOOL_BRIEF_MAX_CHARS = 200;
export const THINKING_BRIEF_CHARS = 120;

/** The one place an item is assembled, so every kind carries `type` and `emission_id` the same way. */
function build(type: ItemKind, brief: string, fields: Record<string, unknown> = {}): PostItemInput {
  return {
    content: [{ type: 'text', text: brief }],
    metadata: { type, emission_id: newEmissionId(), ...fields },
  };
}

/** Lines of a tool output; a trailing newline does not start another line. */
function splitLines(output: string): string[] {
  if (output === '') return [];
  const lines = output.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// ------------------------------------------------------------------------------------------- thread items

export function textItem(text: string): PostItemInput {
  return build('text', text);
}

export function toolCallItem(name: string, invocationId: string, input: unknown): PostItemInput {
  const summary = oneLine(toolSummary(name, input));
  const brief = clip(oneLine(summary ? `${name} → ${summary}` : name), TOOL_BRIEF_MAX_CHARS);
  return build('tool_call', brief, { tool: { name, invocation_id: invocationId, input: input ?? null } });
}

export function toolResultItem(invocationId: string, output: string, isError: boolean): PostItemInput {
  const arrow = isError ? '✗' : '→';
  const lines = splitLines(output);
  const first = lines.find((l) => l.trim() !== '') ?? '';
  const count = `(${lines.length} ${lines.length === 1 ? 'line' : 'lines'})`;
  const brief =
    lines.length === 0 ? `${arrow} (no output)` : `${arrow} ${clip(oneLine(first), TOOL_BRIEF_MAX_CHARS)} ${count}`;
  return build('tool_result', brief, { tool: { invocation_id: invocationId, output, is_error: isError } });
}

export function thinkingItem(text: string): PostItemInput {
  return build('thinking', firstChars(text, THINKING_BRIEF_CHARS), { text });
}

/** Sentences for the status tokens the worker itself emits; any other token is spelled out. */
const STATUS_SENTENCES: Record<string, string> = {
  resume_failed_started_fresh: 'Could not resume the previous agent session; started a fresh one.',
  compacting: 'Compacting context.',
  interrupted: 'The turn was interrupted.',
  agent_started: 'Agent started.',
  agent_stopped: 'Agent stopped.',
};

export function statusSentence(token: string): string {
  const known = STATUS_SENTENCES[token];
  if (known) return known;
  const words = token.replace(/[_-]+/g, ' ').trim();
  return words ? `${words[0].toUpperCase()}${words.slice(1)}.` : 'Status update.';
}

export function statusItem(status: string, detail?: string | null): PostItemInput {
  const sentence = statusSentence(status);
  const brief = detail ? clip(oneLine(`${sentence} ${detail}`), TOOL_BRIEF_MAX_CHARS) : sentence;
  return build('status', brief, detail ? { status, detail } : { status });
}

/** The status token of the placeholder posted in place of an item the server refused for good. */
export const ITEM_REFUSED_STATUS = 'item_refused';
/** Longest refusal message kept in a journal line and a placeholder (one line). */
export const REFUSAL_MESSAGE_MAX_CHARS = 300;

/** A permanent refusal of one emission: the fatal code and the server's answer, one line. */
export interface Refusal {
  code: string;
  message: string;
}

/**
 * What the outbox posts, on the next activation, in place of an emission the server refused for good
 * (docs/outbound.md §3): a `status` item with the refused emission's own `emission_id` (so the exactly-once
 * look-up covers it like any replay) and its `parent_id`, naming the code, the answer and the refused kind.
 */
export function refusedItemPlaceholder(refused: PostItemInput, emissionId: string, refusal: Refusal): PostItemInput {
  const type = refused.metadata?.type;
  const detail = { code: refusal.code, message: refusal.message, kind: typeof type === 'string' ? type : null };
  const item = build(
    'status',
    `An item could not be posted (${refusal.code}: ${refusal.message}); its full content is in thread.log.`,
    { status: ITEM_REFUSED_STATUS, detail },
  );
  item.metadata!.emission_id = emissionId;
  return refused.parent_id !== undefined ? { ...item, parent_id: refused.parent_id } : item;
}

export function isRefusedItemPlaceholder(item: { metadata?: Record<string, unknown> | null }): boolean {
  return item.metadata?.type === 'status' && item.metadata.status === ITEM_REFUSED_STATUS;
}

/**
 * `1234567` → `1,234,567`, as en-US would print it, without ICU: the first locale call maps ≈ 7 MB of locale
 * data into the worker for good (docs/performance.md).
 */
export const fmt = (n: number): string =>
  Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : n.toLocaleString('en-US');

export function turnEndItem(usage: TurnUsage): PostItemInput {
  const cost = usage.cost_usd !== undefined ? ` · $${usage.cost_usd.toFixed(4)}` : '';
  const interrupted = usage.outcome === 'interrupted';
  const brief =
    `— turn ${interrupted ? 'stopped' : 'ended'} — ${fmt(usage.input_tokens)} in (${fmt(usage.input_tokens_cached)} cached) · ` +
    `${fmt(usage.output_tokens)} out · ${(usage.duration_ms / 1000).toFixed(1)} s${cost}`;
  const fields: Record<string, unknown> = {
    input_tokens: usage.input_tokens,
    input_tokens_cached: usage.input_tokens_cached,
    output_tokens: usage.output_tokens,
    duration_ms: usage.duration_ms,
  };
  if (usage.cost_usd !== undefined) fields.cost_usd = usage.cost_usd;
  fields.stop_reason = usage.stop_reason ?? null;
  // A turn stopped by the user (Claude `interrupt`, Codex `turn/interrupt`) says so.
  if (interrupted) fields.interrupted = true;
  return build('turn_end', brief, fields);
}

export function pendingPromptItem(prompt: AgentPrompt): PostItemInput {
  return build('pending_prompt', formatPromptBrief(prompt), { prompt });
}

export type PromptResolution = {
  promptId: string;
  reason?: string;
  /** The structured answer (`PromptAnswer`), recorded as `metadata.answer`. */
  answer?: PromptAnswer;
  answeredVia?: 'thread' | 'desktop';
  /** The prompt itself, only to name questions in the brief; not posted. */
  prompt?: AgentPrompt;
} & (
  | { resolution: 'answered'; answer: PromptAnswer; answeredVia: 'thread' | 'desktop' }
  | { resolution: 'cancelled' | 'failed' }
);

const NO_PROMPT: AgentPrompt = { id: '', kind: 'text', question: '' };

export function promptResolvedItem(r: PromptResolution): PostItemInput {
  let brief: string;
  if (r.resolution === 'answered') {
    const summary = describeAnswer(r.prompt ?? NO_PROMPT, r.answer);
    brief = `✓ Prompt answered${r.answeredVia ? ` via ${r.answeredVia}` : ''}${summary ? `: ${summary}` : ''}`;
  } else {
    brief = `✗ Prompt ${r.resolution}${r.reason ? ` (${r.reason})` : ''}`;
  }
  const fields: Record<string, unknown> = { prompt_id: r.promptId, resolution: r.resolution };
  if (r.reason !== undefined) fields.reason = r.reason;
  if (r.answer !== undefined) fields.answer = r.answer;
  if (r.answeredVia !== undefined) fields.answered_via = r.answeredVia;
  return build('pending_prompt_resolved', clip(oneLine(brief), TOOL_BRIEF_MAX_CHARS), fields);
}

// ----------------------------------------------------------------------------------- worker activity items

export function sectionAttachedItem(instanceId: string, version: string): PostItemInput {
  return build('section_attached', `Worker attached (instance ${instanceId}, version ${version})`, {
    instance_id: instanceId,
    version,
  });
}

export function threadActivatedItem(alias: string, agentType: string, agentSessionId: string | null): PostItemInput {
  const session = agentSessionId ? `, session ${agentSessionId}` : '';
  return build('thread_activated', `Thread ${alias} activated (${agentType}${session})`, {
    alias,
    agent_type: agentType,
    agent_session_id: agentSessionId,
  });
}

export function threadFailedItem(alias: string, error: { code: string; message: string }): PostItemInput {
  return build(
    'thread_failed',
    clip(oneLine(`Thread ${alias} failed: ${error.code} — ${error.message}`), TOOL_BRIEF_MAX_CHARS),
    {
      alias,
      error: { code: error.code, message: error.message },
    },
  );
}

export function threadStoppedItem(alias: string, reason: string): PostItemInput {
  return build('thread_stopped', `Thread ${alias} stopped (${reason})`, { alias, reason });
}

// ------------------------------------------------------------------------------------------ agent events

/**
 * The item an agent event becomes, or `null` for events that are not items (`session`, `exit`, empty text).
 * `prompt_cancelled` (the agent withdrew its own prompt) becomes `pending_prompt_resolved`, `cancelled`.
 */
export function itemFromAgentEvent(event: AgentEvent): PostItemInput | null {
  switch (event.type) {
    case 'text':
      return event.text.trim() === '' ? null : textItem(event.text);
    case 'thinking':
      return event.text.trim() === '' ? null : thinkingItem(event.text);
    case 'tool_call':
      return toolCallItem(event.name, event.invocationId, event.input);
    case 'tool_result':
      return toolResultItem(event.invocationId, event.output, event.isError);
    case 'status':
      return statusItem(event.status, event.detail);
    case 'turn_end':
      return turnEndItem(event.usage);
    case 'prompt':
      return pendingPromptItem(event.prompt);
    case 'prompt_cancelled':
      return promptResolvedItem({ promptId: event.promptId, resolution: 'cancelled', reason: event.reason });
    case 'session':
    case 'exit':
      return null;
  }
}

/** `metadata.emission_id` of an item built here (or `undefined` for a foreign item). */
export function emissionIdOf(item: { metadata?: Record<string, unknown> | null }): string | undefined {
  const id = item.metadata?.emission_id;
  return typeof id === 'string' ? id : undefined;
}
