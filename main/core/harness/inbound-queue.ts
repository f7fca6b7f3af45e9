/**
 * The inbound side of one thread (decisions §10, §9.2): which fetched items are new, which answer an open
 * prompt, which wait for the next turn, and where the persisted inbound cursor may move.
 *
 * Every fetched item is kept in `created_at` order with a state. The cursor only moves over a prefix of items
 * that are self-posted or whose turn has ended (`finishTurn`), so a turn a crash cut short is delivered again
 * after the restart (§6.5) and nothing queued behind it is skipped.
 */
import type { ThreadItem } from '../api/types';
import { cursorOf, isAfterCursor, type InboundCursor } from './inbound';

export type { InboundCursor };

type EntryState = 'self' | 'queued' | 'inflight' | 'done';

interface Entry {
  item: ThreadItem;
  state: EntryState;
}

export class InboundQueue {
  private entries: Entry[] = [];
  private seen = new Set<string>();
  private fetchFrom: string | undefined;
  private cursorValue: InboundCursor | null;

  constructor(
    cursor: InboundCursor | null,
    private readonly isSelf: (item: ThreadItem) => boolean,
  ) {
    this.cursorValue = cursor;
    this.fetchFrom = cursor?.created_at;
    if (cursor) this.seen.add(cursor.item_id);
  }

  /** The persisted cursor: everything at or before it is done. */
  get cursor(): InboundCursor | null {
    return this.cursorValue;
  }

  /** `created_since` for the next fetch (strictly greater than). */
  get since(): string | undefined {
    return this.fetchFrom;
  }

  /** Items waiting for the next turn. */
  get queuedCount(): number {
    return this.entries.filter((e) => e.state === 'queued').length;
  }

  /**
   * Takes one fetched page (ascending). Returns the new non-self items, in order, still `queued`.
   * Duplicates (same id) are dropped.
   */
  accept(items: readonly ThreadItem[]): ThreadItem[] {
    const fresh: ThreadItem[] = [];
    for (const item of items) {
      if (!isAfterCursor(item, this.cursorValue, this.seen)) continue;
      this.seen.add(item.id);
      const self = this.isSelf(item);
      this.insert({ item, state: self ? 'self' : 'queued' });
      if (!self) fresh.push(item);
      if (!this.fetchFrom || item.created_at > this.fetchFrom) this.fetchFrom = item.created_at;
    }
    return fresh;
  }

  /** The first queued item posted strictly after `createdAt` (the answer to a prompt posted then). */
  firstQueuedAfter(createdAt: string): ThreadItem | null {
    return this.entries.find((e) => e.state === 'queued' && e.item.created_at > createdAt)?.item ?? null;
  }

  /** Marks an item consumed by the running turn (a prompt answer). */
  consume(item: ThreadItem): void {
    const entry = this.entries.find((e) => e.item.id === item.id);
    if (entry) entry.state = 'inflight';
  }

  /** Every queued item, oldest first, now part of the turn being started. */
  takeQueued(): ThreadItem[] {
    const out: ThreadItem[] = [];
    for (const e of this.entries) {
      if (e.state === 'queued') {
        e.state = 'inflight';
        out.push(e.item);
      }
    }
    return out;
  }

  /** True when a turn's input (or a prompt answer) is still unfinished. */
  get hasInflight(): boolean {
    return this.entries.some((e) => e.state === 'inflight');
  }

  /**
   * The running turn ended: its input is done. Returns the new cursor when it moved (the caller persists it).
   */
  finishTurn(): InboundCursor | null {
    for (const e of this.entries) if (e.state === 'inflight') e.state = 'done';
    return this.advance();
  }

  /** Moves the cursor over the leading self/done items; returns it when it moved. */
  advance(): InboundCursor | null {
    let moved: Entry | null = null;
    while (this.entries.length > 0 && (this.entries[0].state === 'self' || this.entries[0].state === 'done')) {
      moved = this.entries.shift()!;
      if (this.cursorValue) this.seen.delete(this.cursorValue.item_id);
      this.cursorValue = cursorOf(moved.item);
    }
    return moved ? this.cursorValue : null;
  }

  /** Forgets in-flight work without finishing it (the agent went away); it is queued again. */
  requeueInflight(): void {
    for (const e of this.entries) if (e.state === 'inflight') e.state = 'queued';
  }

  private insert(entry: Entry): void {
    // Pages come ascending, so this is almost always a push; keep order if a late page overlaps.
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1].item.created_at > entry.item.created_at) i--;
    this.entries.splice(i, 0, entry);
  }
}
