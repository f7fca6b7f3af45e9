/**
 * The thread view's entries in memory, without the DOM: at most VIEW_MAX entries, kept in seq order. Live
 * entries append (or replace the one with the same seq); older pages prepend. Whichever end grows past the
 * bound gives up entries at the other end, and says so, so the view can offer to load them again.
 */
import type { TranscriptEntry } from '../main/ipc/contract';

export const VIEW_MAX = 500;

export interface ListChange {
  /** Entries now shown that were not before, or replaced (by seq). */
  upserted: TranscriptEntry[];
  /** Seqs no longer shown. */
  removed: number[];
}

export class TranscriptList {
  private entries: TranscriptEntry[] = [];
  /** Older entries exist than the first one held (the server said so, or we dropped them). */
  hasOlder = false;
  /** Newer entries exist than the last one held (we dropped them while the user read older ones). */
  hasNewer = false;

  constructor(private readonly max = VIEW_MAX) {}

  get all(): readonly TranscriptEntry[] {
    return this.entries;
  }

  get firstSeq(): number | null {
    return this.entries[0]?.seq ?? null;
  }

  get lastSeq(): number | null {
    return this.entries.at(-1)?.seq ?? null;
  }

  /** Starts over from a page (the newest, usually). */
  reset(page: readonly TranscriptEntry[], hasOlder: boolean): void {
    this.entries = page.slice(-this.max);
    this.hasOlder = hasOlder || page.length > this.max;
    this.hasNewer = false;
  }

  /** Live entries: replaced where held, appended when newer, ignored when older than what is shown. */
  live(incoming: readonly TranscriptEntry[]): ListChange {
    const change: ListChange = { upserted: [], removed: [] };
    for (const e of incoming) {
      const i = this.indexOf(e.seq);
      if (i >= 0) {
        this.entries[i] = e;
        change.upserted.push(e);
      } else if (this.hasNewer) {
        continue; // the user is reading older entries; "Jump to latest" reloads the newest
      } else if (this.lastSeq === null || e.seq > this.lastSeq) {
        this.entries.push(e);
        change.upserted.push(e);
      }
    }
    while (this.entries.length > this.max) {
      change.removed.push(this.entries.shift()!.seq);
      this.hasOlder = true;
    }
    return change;
  }

  /** An older page: prepended; past the bound the newest held entries go (and following stops). */
  older(page: readonly TranscriptEntry[], hasMore: boolean): ListChange {
    const first = this.firstSeq;
    const fresh = page.filter((e) => first === null || e.seq < first);
    this.entries = [...fresh, ...this.entries];
    this.hasOlder = hasMore;
    const change: ListChange = { upserted: fresh, removed: [] };
    while (this.entries.length > this.max) {
      change.removed.push(this.entries.pop()!.seq);
      this.hasNewer = true;
    }
    return change;
  }

  private indexOf(seq: number): number {
    let lo = 0;
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
