/**
 * Turns what happens in a thread — the agent's events, the human turns the worker delivers, prompt answers
 * and cancellations, failures — into transcript entries (schema.ts). Pure and synchronous: it holds only the
 * numbering, the running stats and the tool calls / prompts still waiting for their other half, so the live
 * path and the tests drive the same code.
 */
import type { AgentEvent, AgentPrompt, PromptAnswer } from '../agents/types';
import { describeAnswer, formatPromptBrief } from '../agents/answers';
import { clip, summarizeToolInput } from '../agents/tool-summary';
import { TRANSCRIPT_LIMITS as L, zeroStats, type TranscriptEntry, type TranscriptStats } from './schema';

type Entry<K extends TranscriptEntry['kind']> = Extract<TranscriptEntry, { kind: K }>;

/** Everything a thread can tell its transcript. */
export type TranscriptInput =
  | { type: 'agent'; event: AgentEvent }
  /** A turn the worker handed to the agent: the coalesced text of `items` thread items. */
  | { type: 'human'; text: string; items: number }
  | { type: 'prompt_answered'; promptId: string; answer: PromptAnswer; via: 'thread' | 'desktop' }
  | { type: 'prompt_cancelled'; promptId: string; reason: string }
  | { type: 'failed'; code: string; message: string }
  /** The worker's own milestones (activated, stopped, resumed fresh, …). */
  | { type: 'status'; status: string; detail?: string | null };

export interface BuilderStart {
  /** The seq of the newest entry already written (0 for a new thread). */
  lastSeq: number;
  /** The totals the thread had (from its newest turn end). */
  stats: TranscriptStats;
}

/** Cuts a text to TEXT_MAX_CHARS (code points), saying whether it was cut. */
export function boundedText(text: string): { text: string; truncated: boolean } {
  const cut = clip(text, L.TEXT_MAX_CHARS);
  return { text: cut, truncated: cut !== text };
}

/** The first PREVIEW_LINES lines of a tool output, at most PREVIEW_MAX_CHARS; with the output's size. */
export function outputPreview(output: string): { preview: string; lines: number; chars: number } {
  const all = output === '' ? [] : output.split(/\r?\n/);
  if (all.length > 0 && all[all.length - 1] === '') all.pop();
  const head = all.slice(0, L.PREVIEW_LINES).join('\n');
  let preview = clip(head, L.PREVIEW_MAX_CHARS);
  if (all.length > L.PREVIEW_LINES && preview === head) preview += '\n…';
  return { preview, lines: all.length, chars: output.length };
}

function inputJson(input: unknown): string {
  if (input === undefined || input === null) return '';
  let json: string;
  try {
    json = typeof input === 'string' ? input : JSON.stringify(input);
  } catch {
    json = '(input not serialisable)'; // a cycle or a BigInt: the summary still says what the call was
  }
  return clip(json ?? '', L.INPUT_MAX_CHARS);
}

const n = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);

export class TranscriptBuilder {
  private seq: number;
  private totals: TranscriptStats;
  /** Tool calls waiting for their result, by invocation id (insertion order = oldest first). */
  private readonly openTools = new Map<string, Entry<'tool'>>();
  private readonly openPrompts = new Map<string, { entry: Entry<'prompt'>; prompt: AgentPrompt }>();

  constructor(start: BuilderStart = { lastSeq: 0, stats: zeroStats() }) {
    this.seq = start.lastSeq;
    this.totals = { ...start.stats };
  }

  get stats(): TranscriptStats {
    return { ...this.totals };
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** The entries this input creates or changes (changed ones keep their seq), in order. */
  apply(input: TranscriptInput, at: string): TranscriptEntry[] {
    switch (input.type) {
      case 'agent':
        return this.agent(input.event, at);
      case 'human':
        return [{ ...this.base(at), kind: 'human', ...boundedText(input.text), items: input.items }];
      case 'prompt_answered': {
        const open = this.openPrompts.get(input.promptId);
        if (!open) return [];
        return [this.closePrompt(input.promptId, 'answered', describeAnswer(open.prompt, input.answer), input.via, at)];
      }
      case 'prompt_cancelled': {
        if (!this.openPrompts.has(input.promptId)) {
          // A prompt of an earlier run (recovery cancels it): its entry is in thread.log, not here.
          return [{ ...this.base(at), kind: 'status', status: 'prompt_cancelled', detail: input.reason }];
        }
        return [this.closePrompt(input.promptId, 'cancelled', input.reason, null, at)];
      }
      case 'failed':
        return [
          ...this.interruptTools(at),
          { ...this.base(at), kind: 'error', code: input.code, message: clip(input.message, L.TEXT_MAX_CHARS) },
        ];
      case 'status':
        return [{ ...this.base(at), kind: 'status', status: input.status, detail: input.detail ?? null }];
    }
  }

  private base(at: string): { seq: number; at: string } {
    this.seq += 1;
    return { seq: this.seq, at };
  }

  private agent(event: AgentEvent, at: string): TranscriptEntry[] {
    switch (event.type) {
      case 'text':
        return [{ ...this.base(at), kind: 'text', ...boundedText(event.text) }];
      case 'thinking':
        return [{ ...this.base(at), kind: 'thinking', ...boundedText(event.text), collapsed: true }];
      case 'tool_call': {
        const entry: Entry<'tool'> = {
          ...this.base(at),
          kind: 'tool',
          name: event.name,
          invocation_id: event.invocationId,
          summary: summarizeToolInput(event.name, event.input),
          input: inputJson(event.input),
          status: 'running',
          output_preview: null,
          output_lines: null,
          output_chars: null,
          finished_at: null,
        };
        this.openTools.delete(event.invocationId);
        this.openTools.set(event.invocationId, entry);
        // An agent that never answers its calls must not grow this map without bound: the oldest is let go.
        if (this.openTools.size > L.OPEN_MAX) this.openTools.delete(this.openTools.keys().next().value!);
        return [{ ...entry }];
      }
      case 'tool_result': {
        const open = this.openTools.get(event.invocationId);
        const out = outputPreview(event.output);
        const result = {
          status: event.isError ? ('error' as const) : ('ok' as const),
          output_preview: out.preview,
          output_lines: out.lines,
          output_chars: out.chars,
          finished_at: at,
        };
        if (open) {
          this.openTools.delete(event.invocationId);
          return [{ ...open, ...result }];
        }
        // A result without its call (resumed session, or the call fell out of OPEN_MAX): shown on its own.
        return [
          {
            ...this.base(at),
            kind: 'tool',
            name: '(unknown tool)',
            invocation_id: event.invocationId,
            summary: '',
            input: '',
            ...result,
          },
        ];
      }
      case 'status':
        return [{ ...this.base(at), kind: 'status', status: event.status, detail: event.detail ?? null }];
      case 'turn_end': {
        const u = event.usage;
        const turn = {
          turns: 1,
          input_tokens: n(u.input_tokens),
          cached_tokens: n(u.input_tokens_cached),
          output_tokens: n(u.output_tokens),
          agent_ms: n(u.duration_ms),
        };
        this.totals = {
          turns: this.totals.turns + 1,
          input_tokens: this.totals.input_tokens + turn.input_tokens,
          cached_tokens: this.totals.cached_tokens + turn.cached_tokens,
          output_tokens: this.totals.output_tokens + turn.output_tokens,
          agent_ms: this.totals.agent_ms + turn.agent_ms,
        };
        return [
          ...this.interruptTools(at),
          {
            ...this.base(at),
            kind: 'turn_end',
            input_tokens: turn.input_tokens,
            cached_tokens: turn.cached_tokens,
            output_tokens: turn.output_tokens,
            duration_ms: turn.agent_ms,
            outcome: u.outcome ?? null,
            is_error: u.is_error === true,
            totals: { ...this.totals },
          },
        ];
      }
      case 'prompt': {
        const p = event.prompt;
        const entry: Entry<'prompt'> = {
          ...this.base(at),
          kind: 'prompt',
          prompt_id: p.id,
          prompt_kind: p.kind,
          summary: clip(formatPromptBrief(p), L.TEXT_MAX_CHARS),
          status: 'open',
          resolution: null,
          answered_via: null,
          resolved_at: null,
        };
        this.openPrompts.set(p.id, { entry, prompt: p });
        if (this.openPrompts.size > L.OPEN_MAX) this.openPrompts.delete(this.openPrompts.keys().next().value!);
        return [{ ...entry }];
      }
      case 'prompt_cancelled':
        // The harness decides whether a withdrawal counts (only a prompt still open); it tells us then.
        return [];
      case 'exit':
        return this.interruptTools(at);
      case 'session':
        return [];
    }
  }

  private closePrompt(
    promptId: string,
    status: 'answered' | 'cancelled',
    resolution: string,
    via: 'thread' | 'desktop' | null,
    at: string,
  ): TranscriptEntry {
    const open = this.openPrompts.get(promptId)!;
    this.openPrompts.delete(promptId);
    return { ...open.entry, status, resolution, answered_via: via, resolved_at: at };
  }

  /** Calls still running when the turn or the agent ends will get no result. */
  private interruptTools(at: string): TranscriptEntry[] {
    const out: TranscriptEntry[] = [];
    for (const entry of this.openTools.values()) out.push({ ...entry, status: 'interrupted', finished_at: at });
    this.openTools.clear();
    return out;
  }
}
