/**
 * The transcript view's data: a thread's transcript entries (main/core/transcript, docs/desktop.md "Thread
 * view") as display lines for the terminal — human turns, agent text, thinking folded to one line, tool calls
 * with their status and a short output preview, prompts with their resolution, turn ends with tokens and
 * duration, failures. Pure; the shell's TranscriptSource (transcript-source.ts) feeds it.
 */
import type { TranscriptEntry } from '../../core/transcript';
import { clock, type ThreadKey, type Tone } from './view-model';

export interface TranscriptLine {
  /** `HH:MM:SS`, or '' on an entry's continuation lines. */
  time: string;
  /** Short label: `you`, `agent`, `thinking`, `tool`, `prompt`, `turn`, `status`, `error` ('' on continuations). */
  label: string;
  text: string;
  tone: Tone;
}

export interface TranscriptSource {
  /**
   * Calls `listener` with the thread's newest entries (oldest first, at most `limit`) as soon as they are read
   * and after every change; returns the unsubscribe function.
   */
  subscribe(key: ThreadKey, limit: number, listener: (entries: TranscriptEntry[]) => void): () => void;
}

/** Entries kept per open transcript (the core's ring holds the same number per thread). */
export const TRANSCRIPT_LIMIT = 500;
/** Lines shown per text entry before "… n more line(s)". */
const TEXT_LINES = 6;
const PREVIEW_LINES = 3;

/** The window of `lines` that a view of `height` lines shows when scrolled `scroll` lines up from the end. */
export function visibleWindow<T>(
  lines: readonly T[],
  height: number,
  scroll: number,
): { lines: T[]; scroll: number; above: number } {
  const h = Math.max(1, height);
  const maxScroll = Math.max(0, lines.length - h);
  const s = Math.min(Math.max(0, scroll), maxScroll);
  const end = lines.length - s;
  const start = Math.max(0, end - h);
  return { lines: lines.slice(start, end), scroll: s, above: start };
}

/** One display line per text line (a multi-line entry becomes several lines, the first one labelled). */
export function splitEntry(
  time: string,
  label: string,
  text: string,
  tone: Tone,
  maxLines = TEXT_LINES,
): TranscriptLine[] {
  const parts = text.replace(/\r/g, '').split('\n');
  while (parts.length > 1 && parts[parts.length - 1].trim() === '') parts.pop();
  const shown = parts.slice(0, maxLines);
  if (parts.length > maxLines) shown.push(`… ${parts.length - maxLines} more line(s)`);
  return shown.map((t, i) => ({ time: i === 0 ? time : '', label: i === 0 ? label : '', text: t, tone }));
}

const TONE = {
  you: { color: 'cyan', bold: true },
  agent: {},
  thinking: { dim: true },
  tool: { color: 'magenta' },
  result: { dim: true },
  prompt: { color: 'yellow', bold: true },
  turn: { color: 'green' },
  status: { dim: true },
  error: { color: 'red', bold: true },
} satisfies Record<string, Tone>;

function timeOf(at: string): string {
  const d = new Date(at);
  return Number.isFinite(d.getTime()) ? clock(d) : '';
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** The display lines of one transcript entry. */
export function entryLines(e: TranscriptEntry): TranscriptLine[] {
  const t = timeOf(e.at);
  switch (e.kind) {
    case 'human':
      return splitEntry(t, 'you', e.text, TONE.you);
    case 'text':
      return splitEntry(t, 'agent', e.text + (e.truncated ? ' …' : ''), TONE.agent);
    case 'thinking': {
      // Folded, as in the app: the first line only.
      const first = e.text.split('\n').find((l) => l.trim()) ?? '';
      return splitEntry(t, 'thinking', `${first.trim()}${e.text.trim().includes('\n') ? ' …' : ''}`, TONE.thinking, 1);
    }
    case 'tool': {
      const state = e.status === 'running' ? ' · running…' : e.status === 'ok' ? '' : ` · ${e.status}`;
      const head = splitEntry(
        t,
        'tool',
        `${e.name}${e.summary ? ` → ${e.summary}` : ''}${state}`,
        e.status === 'error' ? TONE.error : TONE.tool,
        1,
      );
      if (e.output_preview === null) return head;
      const size = e.output_lines !== null && e.output_lines > PREVIEW_LINES ? ` (${e.output_lines} lines)` : '';
      const preview = splitEntry('', '', (e.output_preview || '(no output)') + size, TONE.result, PREVIEW_LINES).map(
        (l) => ({ ...l, text: `  ${l.text}` }),
      );
      return [...head, ...preview];
    }
    case 'prompt': {
      const first = e.summary.split('\n')[0] ?? '';
      const outcome =
        e.status === 'open'
          ? 'waiting — press a to answer'
          : e.status === 'answered'
            ? `${e.resolution ?? 'answered'}${e.answered_via ? ` (via ${e.answered_via})` : ''}`
            : `cancelled${e.resolution ? `: ${e.resolution}` : ''}`;
      return [...splitEntry(t, 'prompt', first, TONE.prompt, 1), ...splitEntry('', '', `  ${outcome}`, TONE.status, 1)];
    }
    case 'turn_end': {
      const what = e.is_error ? `turn failed${e.outcome ? ` (${e.outcome})` : ''}` : 'turn done';
      const text = `${what} · ${e.input_tokens} in / ${e.cached_tokens} cached / ${e.output_tokens} out · ${secs(e.duration_ms)}`;
      return splitEntry(t, 'turn', text, e.is_error ? TONE.error : TONE.turn, 1);
    }
    case 'status':
      return splitEntry(t, 'status', `${e.status}${e.detail ? `: ${e.detail}` : ''}`, TONE.status, 2);
    case 'error':
      return splitEntry(t, 'error', `${e.code}: ${e.message}`, TONE.error, 3);
  }
}

/**
 * Merges a batch of new or changed entries into the held list (entries keep their `seq` when they change: a
 * tool call getting its result), oldest first, keeping the newest `limit`.
 */
export function mergeEntries(
  held: readonly TranscriptEntry[],
  batch: readonly TranscriptEntry[],
  limit: number,
): TranscriptEntry[] {
  if (batch.length === 0) return held.slice(-limit);
  const bySeq = new Map(held.map((e) => [e.seq, e] as const));
  for (const e of batch) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-limit);
}
