/**
 * The inbound side of one thread (protocol §10, §9.2): which fetched items are new, which answer an open
 * prompt, which wait for the next turn, and where the persisted inbound cursor may move.
 *
 * Every fetched item is kept in `created_at` order with a state. The cursor only moves over a prefix of items
 * that are self-posted or whose turn has ended (`finishTurn`), so a turn a crash cut short is delivered again
 * after the restart (§6.5) and nothing queued behind it is skipped.
 *
 * Paging (docs/harness.md, Inbound): the API promises a strict `created_since` but not unique stamps, so a page
 * that ends inside a group of items sharing one `created_at` must not be followed by `created_since = that
 * stamp` — the rest of the group would be skipped. The next fetch steps back to the newest stamp *before* the
 * newest one seen (`since`), and items seen again are dropped by id.
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
  /** The newest stamp known (cursor or fetched) and the newest one before it. */
  private top: string | undefined;
  private floor: string | undefined;
  /** True while `floor` is unknown because nothing older exists (fetch from the start), not because it was lost. */
  private floorIsStart: boolean;
  private cursorValue: InboundCursor | null;
  private newInLastPage = 0;
  private longestPage = 0;

  constructor(
    cursor: InboundCursor | null,
    private readonly isSelf: (item: ThreadItem) => boolean,
  ) {
    this.cursorValue = cursor;
    this.top = cursor?.created_at;
    this.floor = cursor?.fetch_since ?? undefined;
    // A cursor written before `fetch_since` existed: its own stamp is the best bound left (strict, as then).
    this.floorIsStart = cursor === null || cursor.fetch_since === null;
    if (cursor) this.seen.add(cursor.item_id);
  }

  /** The persisted cursor: everything at or before it is done. */
  get cursor(): InboundCursor | null {
    return this.cursorValue;
  }

  /**
   * `created_since` for the next fetch (strictly greater than): the newest stamp before the newest one seen, so
   * the newest stamp's whole group is fetched again; `undefined` = from the thread's start.
   */
  get since(): string | undefined {
    if (this.floor !== undefined) return this.floor;
    return this.floorIsStart ? undefined : this.top;
  }

  /** How many items of the last accepted page were new (self-posted ones included). */
  get newInLastAccept(): number {
    return this.newInLastPage;
  }

  /** The longest page seen so far: the server's page size is at least this. */
  get longestPageSeen(): number {
    return this.longestPage;
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
    this.newInLastPage = 0;
    this.longestPage = Math.max(this.longestPage, items.length);
    for (const item of items) {
      this.noteStamp(item.created_at);
      if (!isAfterCursor(item, this.cursorValue, this.seen)) continue;
      this.seen.add(item.id);
      this.newInLastPage++;
      const self = this.isSelf(item);
      this.insert({ item, state: self ? 'self' : 'queued' });
      if (!self) fresh.push(item);
    }
    return fresh;
  }

  private noteStamp(stamp: string): void {
    if (this.top === undefined || stamp > this.top) {
      if (this.top !== undefined) this.floor = this.top;
      this.top = stamp;
    } else if (stamp < this.top && (this.floor === undefined || stamp > this.floor)) {
      this.floor = stamp;
    }
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

  /**
   * Takes the queued items `pick` selects out of the queue for good (thread commands such as `/stop`: they are
   * never delivered to the agent). Returns them and the cursor when it moved (the caller persists it).
   */
  takeCommands(pick: (item: ThreadItem) => boolean): { items: ThreadItem[]; cursor: InboundCursor | null } {
    const items: ThreadItem[] = [];
    for (const e of this.entries) {
      if (e.state === 'queued' && pick(e.item)) {
        e.state = 'done';
        items.push(e.item);
      }
    }
    return { items, cursor: items.length ? this.advance() : null };
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
    let moved = false;
    while (this.entries.length > 0 && (this.entries[0].state === 'self' || this.entries[0].state === 'done')) {
      const { item } = this.entries.shift()!;
      const prev = this.cursorValue;
      if (prev && item.created_at === prev.created_at) {
        // Same stamp: the group of consumed ids grows; their ids stay known so a step-back fetch drops them.
        this.cursorValue = {
          ...cursorOf(item),
          fetch_since: prev.fetch_since === undefined ? prev.created_at : prev.fetch_since,
          done_ids: [...(prev.done_ids ?? [prev.item_id]), item.id],
        };
      } else {
        if (prev) for (const id of prev.done_ids ?? [prev.item_id]) this.seen.delete(id);
        this.cursorValue = { ...cursorOf(item), fetch_since: prev ? prev.created_at : null, done_ids: [item.id] };
      }
      moved = true;
    }
    return moved ? this.cursorValue : null;
  }

  /** Forgets in-flight work without finishing it (the agent went away); it is queued again. */
  requeueInflight(): void {
    for (const e of this.entries) if (e.state === 'inflight') e.state = 'queued';
  }

  /**
   * One tail of the thread (protocol §10): pages ascending from `since` until nothing new comes. A page with
   * nothing new that is shorter than the longest page seen is the end. A full page of known items (a group of
   * equal stamps at least a page long) is followed by one fetch strictly past its newest stamp: with only a
   * strict `created_since`, items of one stamp beyond the first page of that stamp cannot be reached at all.
   * At most `maxPages` requests, so a server ignoring `created_since` cannot loop us.
   */
  async tail(fetchPage: (since: string | undefined) => Promise<ThreadItem[]>, maxPages: number): Promise<void> {
    let since = this.since;
    for (let page = 0; page < maxPages; page++) {
      const items = await fetchPage(since);
      if (items.length === 0) return;
      this.accept(items);
      if (this.newInLastPage > 0) {
        since = this.since;
        continue;
      }
      if (items.length < this.longestPage) return;
      const newest = items.reduce((m, i) => (i.created_at > m ? i.created_at : m), items[0].created_at);
      if (since !== undefined && newest <= since) return;
      since = newest;
    }
  }

  private insert(entry: Entry): void {
    // Pages come ascending, so this is almost always a push; keep order if a late page overlaps.
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1].item.created_at > entry.item.created_at) i--;
    this.entries.splice(i, 0, entry);
  }
}
