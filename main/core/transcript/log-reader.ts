/**
 * Reads transcript entries back from `thread.log`, newest first, without loading the file: the log holds every
 * byte of agent stdio too, so it can be large. Lines are read backwards in chunks; only lines that carry a
 * transcript record are parsed (and checked with zod: a torn or foreign line is skipped, never fatal).
 *
 * Record layout (written by ThreadTranscript): `{ts, src:"worker", event:"transcript", entry}` when an entry is
 * created, and the same with `update: true` when it changes later (a tool result, a prompt answer). Creation
 * records appear in the file in increasing seq order; an update appears after its creation record. So a
 * backward scan sees an entry's newest version first and can stop after `limit` creation records. A rotated log
 * (`thread.log.1`, `.2`, …, main/core/log-rotation.ts) is read on as the older part of the same stream.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { rotatedPath } from '../log-rotation';
import { TRANSCRIPT_RECORD_EVENT, TranscriptEntry, TranscriptStats, zeroStats } from './schema';

const CHUNK = 64 * 1024;
/** A transcript record is a few KB at most: longer lines (big agent outputs) are skipped unread. */
const MAX_RECORD_BYTES = 256 * 1024;
/** The startup scan for the newest seq and totals stops after this much of the file (docs/desktop.md). */
export const TAIL_SCAN_MAX_BYTES = 64 * 1024 * 1024;
/** An update record seen past a page's first entry is carried to the next page; beyond this, no carry. */
const CARRY_MAX = 2_000;
/** Rotated files looked at (`thread.log.1` … `.N`); rotation keeps far fewer (logs.keep). */
const MAX_ROTATED = 100;

const MARKER = `"event":"${TRANSCRIPT_RECORD_EVENT}"`;

const TranscriptRecord = z.object({
  src: z.literal('worker'),
  event: z.literal(TRANSCRIPT_RECORD_EVENT),
  entry: TranscriptEntry,
  update: z.boolean().optional(),
});

export interface RecordAt {
  entry: TranscriptEntry;
  update: boolean;
  /** Byte offset where the record's line starts. */
  offset: number;
}

/** Parses one thread.log line as a transcript record, or null (any other record, or a bad one). */
export function parseRecordLine(line: string): { entry: TranscriptEntry; update: boolean } | null {
  if (!line.includes(MARKER)) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = TranscriptRecord.safeParse(value);
  return parsed.success ? { entry: parsed.data.entry, update: parsed.data.update === true } : null;
}

/**
 * Transcript records of `[from, end)`, newest first. `from` must be a line start (0, or an offset a previous
 * scan returned).
 */
export async function* recordsBackward(fh: FileHandle, end: number, from = 0): AsyncGenerator<RecordAt> {
  let pos = end;
  // Bytes right of the last newline seen, i.e. the start of a line that continues to the left: kept as chunks.
  let carry: Buffer[] = [];
  let carryLen = 0;
  let skipping = false;
  const emit = (parts: Buffer[], offset: number): RecordAt | null => {
    const rec = parseRecordLine(Buffer.concat(parts).toString('utf8'));
    return rec ? { ...rec, offset } : null;
  };
  while (pos > from) {
    const size = Math.min(CHUNK, pos - from);
    pos -= size;
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await fh.read(buf, 0, size, pos);
    const data = buf.subarray(0, bytesRead);
    let lineEnd = data.length;
    for (let i = data.lastIndexOf(10, lineEnd - 1); i >= 0; i = i > 0 ? data.lastIndexOf(10, i - 1) : -1) {
      if (!skipping) {
        const parts = [data.subarray(i + 1, lineEnd), ...carry];
        if (carryLen + lineEnd - i - 1 > 0) {
          const rec = emit(parts, pos + i + 1);
          if (rec) yield rec;
        }
      }
      carry = [];
      carryLen = 0;
      skipping = false;
      lineEnd = i;
    }
    if (!skipping && lineEnd > 0) {
      carry.unshift(data.subarray(0, lineEnd));
      carryLen += lineEnd;
      if (carryLen > MAX_RECORD_BYTES) {
        carry = [];
        carryLen = 0;
        skipping = true;
      }
    }
  }
  if (!skipping && carryLen > 0) {
    const rec = emit(carry, from);
    if (rec) yield rec;
  }
}

/** One file of a thread.log chain, open for reading. */
interface ChainFile {
  fh: FileHandle;
  size: number;
  /** Identity across renames: rotation moves `thread.log` to `thread.log.1`, the inode stays. */
  ino: number;
}

/**
 * `thread.log`, then its rotated predecessors `thread.log.1`, `.2`, … (log-rotation.ts), newest first, opened
 * together so a rotation while we read cannot shift them under us (a renamed file keeps its descriptor). A
 * file seen twice (renamed between two opens) is used once.
 */
async function withChain<T>(path: string, fallback: T, fn: (chain: ChainFile[]) => Promise<T>): Promise<T> {
  const chain: ChainFile[] = [];
  try {
    for (let n = 0; n <= MAX_ROTATED; n++) {
      let fh: FileHandle;
      try {
        fh = await open(n === 0 ? path : rotatedPath(path, n), 'r');
      } catch {
        if (n === 0) continue; // the live file may be missing right after a rotation
        break;
      }
      const st = await fh.stat();
      if (chain.some((f) => f.ino === st.ino)) {
        await fh.close();
        continue;
      }
      chain.push({ fh, size: st.size, ino: st.ino });
    }
    if (chain.length === 0) return fallback; // no log yet: a thread that never ran
    return await fn(chain);
  } finally {
    await Promise.all(chain.map((f) => f.fh.close().catch(() => undefined)));
  }
}

export interface LogTail {
  /** The newest seq written (0 when none): new entries continue after it. */
  lastSeq: number;
  /** The totals of the newest turn end (zero when none was found within TAIL_SCAN_MAX_BYTES). */
  stats: TranscriptStats;
}

/** What a thread starts from after a restart: scans back from the end until it has the newest seq and totals. */
export function scanTail(path: string, maxBytes = TAIL_SCAN_MAX_BYTES): Promise<LogTail> {
  return withChain(path, { lastSeq: 0, stats: zeroStats() }, async (chain) => {
    let lastSeq = 0;
    let stats: TranscriptStats | null = null;
    let budget = maxBytes;
    for (const file of chain) {
      if (budget <= 0) break;
      for await (const rec of recordsBackward(file.fh, file.size, Math.max(0, file.size - budget))) {
        if (!rec.update && lastSeq === 0) lastSeq = rec.entry.seq;
        if (rec.entry.kind === 'turn_end' && stats === null) stats = rec.entry.totals;
        if (lastSeq > 0 && stats) return { lastSeq, stats };
      }
      budget -= file.size;
    }
    return { lastSeq, stats: stats ?? zeroStats() };
  });
}

/** Where a backward page read stopped, so the next (older) page continues there instead of from the end. */
export interface PageCursor {
  /** The page's oldest seq: the `before` of the next page. */
  before: number;
  /** The file (by inode) and offset of that entry's creation record: everything older is left of it. */
  ino: number;
  offset: number;
  /** That file's size when the scan ran: updates appended after it are looked for past it. */
  scannedSize: number;
  /** Newest versions of older entries whose update records lie right of `offset`. */
  carried: Map<number, TranscriptEntry>;
}

export interface LogPage {
  /** Oldest first. */
  entries: TranscriptEntry[];
  /** A creation record older than the page exists. */
  hasMore: boolean;
  cursor: PageCursor | null;
}

/**
 * The newest `limit` entries with seq < `before` (absent: the newest), each in its newest version, across the
 * rotated files. With a `cursor` from the previous page (same `before`), the scan continues where that one
 * stopped; updates written since (in newer files, or appended to the cursor's file) are looked for first.
 */
export function readPage(
  path: string,
  before: number | undefined,
  limit: number,
  cursor?: PageCursor | null,
): Promise<LogPage> {
  return withChain<LogPage>(path, { entries: [], hasMore: false, cursor: null }, async (chain) => {
    const later = new Map<number, TranscriptEntry>();
    const older = (seq: number) => before === undefined || seq < before;
    let startIdx = 0;
    let startEnd = chain[0].size;
    const at = cursor && cursor.before === before ? chain.findIndex((f) => f.ino === cursor.ino) : -1;
    if (cursor && at >= 0 && cursor.offset <= chain[at].size) {
      for (let i = 0; i <= at; i++) {
        const from = i === at ? Math.min(cursor.scannedSize, chain[i].size) : 0;
        for await (const rec of recordsBackward(chain[i].fh, chain[i].size, from)) {
          if (rec.update && older(rec.entry.seq) && !later.has(rec.entry.seq)) later.set(rec.entry.seq, rec.entry);
        }
      }
      for (const [seq, entry] of cursor.carried) if (!later.has(seq)) later.set(seq, entry);
      startIdx = at;
      startEnd = cursor.offset;
    }
    const page: TranscriptEntry[] = [];
    let hasMore = false;
    let stop: { ino: number; offset: number; size: number } | null = null;
    scan: for (let i = startIdx; i < chain.length; i++) {
      const file = chain[i];
      for await (const rec of recordsBackward(file.fh, i === startIdx ? startEnd : file.size, 0)) {
        const seq = rec.entry.seq;
        if (!older(seq)) continue;
        if (rec.update) {
          if (!later.has(seq)) later.set(seq, rec.entry);
          continue;
        }
        if (page.length >= limit) {
          hasMore = true;
          break scan;
        }
        page.push(later.get(seq) ?? rec.entry);
        later.delete(seq);
        stop = { ino: file.ino, offset: rec.offset, size: file.size };
      }
    }
    page.reverse();
    const oldest = page[0]?.seq;
    let next: PageCursor | null = null;
    if (hasMore && oldest !== undefined && stop) {
      const carried = new Map([...later].filter(([seq]) => seq < oldest));
      if (carried.size <= CARRY_MAX)
        next = { before: oldest, ino: stop.ino, offset: stop.offset, scannedSize: stop.size, carried };
    }
    return { entries: page, hasMore, cursor: next };
  });
}
