/**
 * Pure helpers for the inbound side (protocol §10, §6.2 step 7, §9.2): the self filter, turning queued
 * items into one agent turn, an item's answer text, and the inbound cursor (`created_at` + item id).
 *
 * `created_at` strings are compared exactly as the server sent them (protocol §3: lexical comparison
 * of the ISO strings; always send back the server's own string).
 */
import type { ThreadItem } from '../api/types';

export interface InboundCursor {
  created_at: string;
  item_id: string;
  /**
   * `created_since` of the first fetch after a restart: the newest stamp seen before `created_at`, or `null` when
   * none was (fetch from the thread's start). Absent in files written before it existed: then `created_at` itself.
   */
  fetch_since?: string | null;
  /** Every consumed item that shares `created_at` (the API's stamps need not be unique), `item_id` included. */
  done_ids?: string[];
}

/** The docs' only self criterion: the item's `user_id` is the worker's. `metadata.type` is deliberately ignored. */
export function isSelf(item: Pick<ThreadItem, 'user_id'>, workerUserId: string): boolean {
  return typeof item.user_id === 'string' && item.user_id === workerUserId;
}

const textsOf = (item: Pick<ThreadItem, 'content'>): string[] =>
  item.content.flatMap((b) => (b.type === 'text' && typeof b.text === 'string' ? [b.text] : []));

/** The item's text blocks joined by a blank line: what a prompt answer is parsed from (§9.2). */
export function itemText(item: Pick<ThreadItem, 'content'>): string {
  return textsOf(item).join('\n\n');
}

/** The thread command that stops the running turn (docs/harness.md): an item whose whole text is `/stop`. */
export function isStopCommand(item: Pick<ThreadItem, 'content'>): boolean {
  return itemText(item).trim().toLowerCase() === '/stop';
}

/** Sorts by `created_at` (stable: equal timestamps keep the server's order), dropping repeated ids. */
export function sortItems<T extends Pick<ThreadItem, 'id' | 'created_at'>>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  const unique = items.filter((i) => (seen.has(i.id) ? false : (seen.add(i.id), true)));
  return unique.sort((a, b) => compareStrings(a.created_at, b.created_at));
}

/**
 * One agent turn from several items (§10): every text block and `json` block (as a fenced ```json block), in
 * `created_at` order, joined by a blank line; no author prefixes. Items repeated by id count once.
 */
export function coalesceTurn(items: readonly ThreadItem[]): string {
  const parts: string[] = [];
  for (const item of sortItems(items)) {
    for (const block of item.content) {
      if (block.type === 'text' && typeof block.text === 'string') {
        if (block.text.trim() !== '') parts.push(block.text);
      } else if (block.type === 'json' && 'json' in block) {
        parts.push('```json\n' + (JSON.stringify(block.json, null, 2) ?? 'null') + '\n```');
      }
    }
  }
  return parts.join('\n\n');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative / 0 / positive as `item` sorts before / at / after the cursor position. */
export function compareToCursor(item: Pick<ThreadItem, 'id' | 'created_at'>, cursor: InboundCursor): number {
  const c = compareStrings(item.created_at, cursor.created_at);
  if (c !== 0) return c;
  return item.id === cursor.item_id ? 0 : 1;
}

/**
 * True when `item` is new relative to the cursor: created later, or created at the very same instant with a
 * different id that has not been seen yet (`created_since` is strictly greater-than, so equal timestamps
 * must be fetched with an older bound and de-duplicated here by id).
 */
export function isAfterCursor(
  item: Pick<ThreadItem, 'id' | 'created_at'>,
  cursor: InboundCursor | null,
  seenIds: ReadonlySet<string> = new Set(),
): boolean {
  if (seenIds.has(item.id)) return false;
  if (!cursor) return true;
  if (item.created_at === cursor.created_at && cursor.done_ids?.includes(item.id)) return false;
  return compareToCursor(item, cursor) > 0;
}

/** The cursor that points at `item` (the last one consumed). */
export const cursorOf = (item: Pick<ThreadItem, 'id' | 'created_at'>): InboundCursor => ({
  created_at: item.created_at,
  item_id: item.id,
});

/** The later of two cursors (by `created_at`; the second wins a tie, being the newer observation). */
export function maxCursor(a: InboundCursor | null, b: InboundCursor | null): InboundCursor | null {
  if (!a) return b;
  if (!b) return a;
  return compareStrings(b.created_at, a.created_at) >= 0 ? b : a;
}

/**
 * The items after the cursor that are not self, de-duplicated and in order: the input of the next turn
 * (protocol §6.2 step 7, §10).
 */
export function newInboundItems(
  items: readonly ThreadItem[],
  cursor: InboundCursor | null,
  workerUserId: string,
  seenIds: ReadonlySet<string> = new Set(),
): ThreadItem[] {
  return sortItems(items).filter((i) => isAfterCursor(i, cursor, seenIds) && !isSelf(i, workerUserId));
}
