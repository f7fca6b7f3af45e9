/**
 * One thread's transcript: the builder (what the events mean), the bounded in-memory ring (what views read
 * first), `thread.log` (where every entry is recorded, so older ones can be paged in and the numbering and
 * totals survive a restart) and the hub (who is watching).
 */
import { TranscriptBuilder, type TranscriptInput } from './builder';
import { readPage, scanTail, type PageCursor } from './log-reader';
import { TranscriptRing } from './ring';
import {
  TRANSCRIPT_LIMITS as L,
  TRANSCRIPT_RECORD_EVENT,
  type TranscriptEntry,
  type TranscriptPage,
  type TranscriptPageOptions,
  type TranscriptStats,
  zeroStats,
} from './schema';

/** What a transcript writes its records to: the thread's ThreadLog (agents/thread-log.ts). */
export interface RecordSink {
  readonly path: string;
  append(record: { src: 'worker'; [key: string]: unknown }): void;
}

export interface ThreadTranscriptOptions {
  log: RecordSink;
  /** New and changed entries, in order (TranscriptHub.publish for this thread). */
  publish?: (entries: TranscriptEntry[]) => void;
  now?: () => Date;
  ring?: TranscriptRing;
}

/** Page cursors a thread remembers (one per view scrolling back, roughly). */
const CURSORS_MAX = 8;

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return L.PAGE_DEFAULT;
  return Math.min(L.PAGE_MAX, Math.max(1, Math.floor(limit)));
}

export class ThreadTranscript {
  private readonly cursors = new Map<number, PageCursor>();

  private constructor(
    private readonly builder: TranscriptBuilder,
    private readonly ring: TranscriptRing,
    private readonly options: ThreadTranscriptOptions,
  ) {}

  /** Continues the thread's numbering and totals from its thread.log (a fresh thread starts at 0). */
  static async open(options: ThreadTranscriptOptions): Promise<ThreadTranscript> {
    // A thread.log that cannot be read (a directory in its place, EACCES) must not keep the thread from running:
    // numbering starts over, and the log's own writer reports the trouble (thread_log_write_failed).
    const tail = await scanTail(options.log.path).catch(() => ({ lastSeq: 0, stats: zeroStats() }));
    return new ThreadTranscript(new TranscriptBuilder(tail), options.ring ?? new TranscriptRing(), options);
  }

  get stats(): TranscriptStats {
    return this.builder.stats;
  }

  /** The entries held in memory (bounded), for callers that only want the live tail. */
  get held(): number {
    return this.ring.size;
  }

  get heldChars(): number {
    return this.ring.heldChars;
  }

  /** Records what happened: thread.log first (synchronously), then the ring, then the watchers. */
  record(input: TranscriptInput): TranscriptEntry[] {
    const before = this.builder.lastSeq;
    const entries = this.builder.apply(input, (this.options.now?.() ?? new Date()).toISOString());
    for (const entry of entries) {
      this.options.log.append({
        src: 'worker',
        event: TRANSCRIPT_RECORD_EVENT,
        entry,
        ...(entry.seq <= before ? { update: true } : {}),
      });
      this.ring.put(entry);
    }
    if (entries.length > 0) this.options.publish?.(entries);
    return entries;
  }

  /** The newest entries before `opts.before` (oldest first): from memory when it holds them, else thread.log. */
  async page(opts: TranscriptPageOptions = {}): Promise<TranscriptPage> {
    const limit = clampLimit(opts.limit);
    const fromRing = this.ring.slice(opts.before, limit);
    const first = fromRing[0]?.seq ?? opts.before;
    const ringFirst = this.ring.firstSeq;
    // The ring covers everything from its first seq on; older ones come from the file.
    const olderInRing = ringFirst !== null && first !== undefined && ringFirst < first;
    if (fromRing.length >= limit || olderInRing) {
      return { entries: fromRing, has_more: (fromRing[0]?.seq ?? 1) > 1, stats: this.stats };
    }
    const fileBefore = fromRing.length > 0 ? fromRing[0].seq : opts.before;
    if (fileBefore !== undefined && fileBefore <= 1) return { entries: fromRing, has_more: false, stats: this.stats };
    const cursor = fileBefore !== undefined ? this.cursors.get(fileBefore) : undefined;
    const page = await readPage(this.options.log.path, fileBefore, limit - fromRing.length, cursor);
    if (fileBefore !== undefined) this.cursors.delete(fileBefore);
    if (page.cursor) {
      this.cursors.set(page.cursor.before, page.cursor);
      if (this.cursors.size > CURSORS_MAX) this.cursors.delete(this.cursors.keys().next().value!);
    }
    // The ring's versions are at least as new as the file's; an entry both hold is taken from the ring.
    const held = new Set(fromRing.map((e) => e.seq));
    const entries = [...page.entries.filter((e) => !held.has(e.seq)), ...fromRing];
    return { entries, has_more: page.hasMore, stats: this.stats };
  }
}

/** A page of a thread no runner holds (stopped worker, detached section): straight from its thread.log. */
export async function readTranscriptFile(path: string, opts: TranscriptPageOptions = {}): Promise<TranscriptPage> {
  const [page, tail] = await Promise.all([readPage(path, opts.before, clampLimit(opts.limit)), scanTail(path)]);
  return { entries: page.entries, has_more: page.hasMore, stats: tail.stats };
}
