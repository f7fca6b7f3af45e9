/**
 * The in-memory tail of a thread's transcript: at most RING_ENTRIES entries and RING_CHARS characters of text,
 * whichever bound is hit first (the oldest go; `thread.log` still has them). Entries arrive in seq order; a
 * changed entry (same seq) replaces the one held, if it is still held.
 */
import { TRANSCRIPT_LIMITS, type TranscriptEntry } from './schema';

/** A rough size of what an entry holds in memory (its strings), for the character budget. */
export function entryChars(e: TranscriptEntry): number {
  switch (e.kind) {
    case 'human':
    case 'text':
    case 'thinking':
      return e.text.length + 64;
    case 'tool':
      return e.name.length + e.summary.length + e.input.length + (e.output_preview?.length ?? 0) + 96;
    case 'prompt':
      return e.summary.length + (e.resolution?.length ?? 0) + 96;
    case 'error':
      return e.message.length + 64;
    case 'status':
      return e.status.length + (e.detail?.length ?? 0) + 64;
    case 'turn_end':
      return 128;
  }
}

export class TranscriptRing {
  private entries: TranscriptEntry[] = [];
  /** Index of the oldest live entry in `entries` (dropping moves this instead of shifting the array). */
  private head = 0;
  private chars = 0;

  constructor(
    private readonly maxEntries: number = TRANSCRIPT_LIMITS.RING_ENTRIES,
    private readonly maxChars: number = TRANSCRIPT_LIMITS.RING_CHARS,
  ) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Seq of the oldest entry held, or null when empty. */
  get firstSeq(): number | null {
    return this.size > 0 ? this.entries[this.head].seq : null;
  }

  get lastSeq(): number | null {
    return this.size > 0 ? this.entries[this.entries.length - 1].seq : null;
  }

  get heldChars(): number {
    return this.chars;
  }

  /** Adds a new entry (seq above every held one) or replaces the held entry with the same seq. */
  put(entry: TranscriptEntry): void {
    const last = this.lastSeq;
    if (last !== null && entry.seq <= last) {
      const i = this.indexOf(entry.seq);
      if (i < 0) return; // already dropped: thread.log has it
      this.chars += entryChars(entry) - entryChars(this.entries[i]);
      this.entries[i] = entry;
      return;
    }
    this.entries.push(entry);
    this.chars += entryChars(entry);
    while (this.size > 1 && (this.size > this.maxEntries || this.chars > this.maxChars)) {
      this.chars -= entryChars(this.entries[this.head]);
      this.head += 1;
    }
    // Compact now and then so the dropped slots do not pile up.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** The newest `limit` held entries with seq < `before` (all when absent), oldest first. */
  slice(before: number | undefined, limit: number): TranscriptEntry[] {
    let end = this.entries.length;
    if (before !== undefined) {
      // Seqs are increasing: binary search for the first held seq >= before.
      let lo = this.head;
      let hi = this.entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.entries[mid].seq < before) lo = mid + 1;
        else hi = mid;
      }
      end = lo;
    }
    return this.entries.slice(Math.max(this.head, end - limit), end);
  }

  private indexOf(seq: number): number {
    let lo = this.head;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.entries[mid].seq;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
