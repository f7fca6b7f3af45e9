/**
 * The transcript view's data: a bounded list of display lines for one thread, fed by a TranscriptSource the
 * shell provides (the WorkerHost's per-thread subscription). Pure formatting lives here so it is unit-tested.
 */
import type { Tone, ThreadKey } from './view-model';

export interface TranscriptLine {
  /** `HH:MM:SS` or '' for a continuation line. */
  time: string;
  /** Short label: `you`, `agent`, `thinking`, `tool`, `result`, `prompt`, `turn`, `error`. */
  label: string;
  text: string;
  tone: Tone;
}

export interface TranscriptSource {
  /**
   * Calls `listener` with the thread's latest lines (oldest first, at most `limit`) now and after every change;
   * returns the unsubscribe function.
   */
  subscribe(key: ThreadKey, limit: number, listener: (lines: TranscriptLine[]) => void): () => void;
}

/** Lines kept per open transcript; the view shows the newest that fit, scrolling reaches the rest. */
export const TRANSCRIPT_LIMIT = 500;

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
export function splitEntry(time: string, label: string, text: string, tone: Tone, maxLines = 6): TranscriptLine[] {
  const parts = text.replace(/\r/g, '').split('\n');
  const shown = parts.slice(0, maxLines);
  if (parts.length > maxLines) shown.push(`… ${parts.length - maxLines} more line(s)`);
  return shown.map((t, i) => ({ time: i === 0 ? time : '', label: i === 0 ? label : '', text: t, tone }));
}
