/**
 * The transcript of one thread as the worker sees it (docs/desktop.md "Thread view"): human turns, agent text,
 * thinking, tool calls paired with their results, prompts with their resolution, turn ends with tokens and
 * duration. Plain, serialisable data (it crosses IPC and is persisted as `thread.log` records), described by zod
 * so every reader — the renderer, the terminal dashboard, the back-pager over `thread.log` — can trust its shape.
 *
 * Entries are numbered per thread (`seq`, 1, 2, …, continued across restarts). An entry that changes later (a
 * tool call getting its result, a prompt getting its answer) keeps its `seq`: readers replace by `seq`.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

/** Per thread and (summed) per section: what the agent has done so far. */
export const TranscriptStats = z.object({
  turns: count,
  input_tokens: count,
  cached_tokens: count,
  output_tokens: count,
  /** Sum of the turns' own durations (what the agent reported), in ms. */
  agent_ms: count,
});
export type TranscriptStats = z.output<typeof TranscriptStats>;

export function zeroStats(): TranscriptStats {
  return { turns: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0, agent_ms: 0 };
}

export function addStats(a: TranscriptStats, b: TranscriptStats): TranscriptStats {
  return {
    turns: a.turns + b.turns,
    input_tokens: a.input_tokens + b.input_tokens,
    cached_tokens: a.cached_tokens + b.cached_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    agent_ms: a.agent_ms + b.agent_ms,
  };
}

const base = {
  seq: z.number().int().positive(),
  /** When the worker saw it (ISO). */
  at: z.string(),
};
/** Long texts are cut (TEXT_MAX_CHARS); the full text is in the thread's items and in thread.log. */
const text = { text: z.string(), truncated: z.boolean() };

export const HumanEntry = z.object({
  ...base,
  kind: z.literal('human'),
  ...text,
  /** How many thread items were coalesced into this turn (docs/harness.md "Inbound"). */
  items: count,
});
export const TextEntry = z.object({ ...base, kind: z.literal('text'), ...text });
export const ThinkingEntry = z.object({
  ...base,
  kind: z.literal('thinking'),
  ...text,
  /** Views show thinking folded until the user opens it. */
  collapsed: z.boolean(),
});
export const ToolEntry = z.object({
  ...base,
  kind: z.literal('tool'),
  name: z.string(),
  invocation_id: z.string(),
  /** The one-line input summary every view shows (the `tool_call` item's brief). */
  summary: z.string(),
  /** The input as JSON, cut to INPUT_MAX_CHARS. */
  input: z.string(),
  /** `interrupted`: the turn or the agent ended before a result came. */
  status: z.enum(['running', 'ok', 'error', 'interrupted']),
  /** The first PREVIEW_LINES lines / PREVIEW_MAX_CHARS characters of the output. */
  output_preview: z.string().nullable(),
  output_lines: count.nullable(),
  output_chars: count.nullable(),
  finished_at: z.string().nullable(),
});
export const PromptEntry = z.object({
  ...base,
  kind: z.literal('prompt'),
  prompt_id: z.string(),
  prompt_kind: z.enum(['approval', 'ask_user_question', 'text', 'plan']),
  /** The prompt as the thread shows it (the `pending_prompt` brief). */
  summary: z.string(),
  status: z.enum(['open', 'answered', 'cancelled']),
  /** The answer in words (`Allowed`, `Denied: …`, the chosen option) or the cancellation reason. */
  resolution: z.string().nullable(),
  answered_via: z.enum(['thread', 'desktop']).nullable(),
  resolved_at: z.string().nullable(),
});
export const TurnEndEntry = z.object({
  ...base,
  kind: z.literal('turn_end'),
  input_tokens: count,
  cached_tokens: count,
  output_tokens: count,
  duration_ms: count,
  outcome: z.string().nullable(),
  is_error: z.boolean(),
  /** The thread's running totals after this turn: the stats survive a restart through the newest turn end. */
  totals: TranscriptStats,
});
export const StatusEntry = z.object({
  ...base,
  kind: z.literal('status'),
  status: z.string(),
  detail: z.string().nullable(),
});
export const ErrorEntry = z.object({ ...base, kind: z.literal('error'), code: z.string(), message: z.string() });

export const TranscriptEntry = z.discriminatedUnion('kind', [
  HumanEntry,
  TextEntry,
  ThinkingEntry,
  ToolEntry,
  PromptEntry,
  TurnEndEntry,
  StatusEntry,
  ErrorEntry,
]);
export type TranscriptEntry = z.output<typeof TranscriptEntry>;
export type TranscriptEntryKind = TranscriptEntry['kind'];

/** One page of a thread's transcript, oldest first. */
export const TranscriptPage = z.object({
  entries: z.array(TranscriptEntry),
  /** More entries exist before the first one of this page (ask again with `before` = its seq). */
  has_more: z.boolean(),
  /** The thread's stats now. */
  stats: TranscriptStats,
});
export type TranscriptPage = z.output<typeof TranscriptPage>;

export interface TranscriptPageOptions {
  /** Only entries with a smaller seq (exclusive); absent = the newest. */
  before?: number;
  /** How many entries at most (default PAGE_DEFAULT, at most PAGE_MAX). */
  limit?: number;
}

/** Bounds (docs/desktop.md "Thread view"). */
export const TRANSCRIPT_LIMITS = {
  /** Entries a thread keeps in memory. */
  RING_ENTRIES: 500,
  /** Characters of text a thread keeps in memory across its ring (older entries are dropped first). */
  RING_CHARS: 1_000_000,
  TEXT_MAX_CHARS: 4_000,
  INPUT_MAX_CHARS: 1_000,
  PREVIEW_LINES: 6,
  PREVIEW_MAX_CHARS: 600,
  PAGE_DEFAULT: 100,
  PAGE_MAX: 500,
  /** Tool calls / prompts waiting for their result or answer that a thread remembers. */
  OPEN_MAX: 1_000,
} as const;

/** The `thread.log` record that carries an entry (docs/harness.md module map, thread.log records). */
export const TRANSCRIPT_RECORD_EVENT = 'transcript';
