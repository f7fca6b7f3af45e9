/**
 * The outbox journal (`threads/{alias}/outbox.jsonl`, protocol §8.3): append-only JSON lines.
 *
 *   {"op":"emit","id":"em_…","at":"<ISO>","item":{content,metadata[,parent_id]}}   before the first post
 *   {"op":"done","id":"em_…","item_id":"…","created_at":"<server string>"}          after the server confirmed
 *   {"op":"cursor","item_id":"…","created_at":"…"}                                   last confirmed item
 *   {"op":"refused","id":"em_…","code":"THREAD_POST_FAILED","message":"<one line>"}  refused for good (the thread failed)
 *
 * `emit` lines are written before `enqueue` returns, so they survive a crash of the process (the kernel has
 * them), and are fdatasynced before the item is posted, so anything on the server is also in the journal after
 * an OS crash. One sync covers every line written meanwhile (group commit): a burst of emissions costs one
 * sync, not one each, and never blocks the event loop. `done` lines are not synced (a lost `done` only costs
 * a server look-up on replay). A line is one `write`, so a kill -9 can leave at most the last line torn: it is ignored
 * with a warning, as is any other unreadable line, and nothing else is lost.
 *
 * A `refused` line marks an emission the server refused for good; the next open posts a placeholder in its
 * place (outbox.ts). It is written, not synced: losing it to an OS crash only costs one more refusal. A journal
 * without such lines (an older version's) reads as before; an older version reading one skips it as a bad line.
 */
import { closeSync, fdatasync, ftruncateSync, mkdirSync, openSync, promises as fs, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { PostItemInput } from '../../api/types';
import type { Logger } from '../../log';
import type { Refusal } from './items';
import { WorkerError } from '../../errors';
import { writeFileAtomic } from '../../state/yaml-file';

const JournalItem = z.looseObject({
  content: z.array(z.looseObject({ type: z.string() })),
  metadata: z.record(z.string(), z.unknown()).optional(),
  parent_id: z.string().optional(),
});

export const JournalRecord = z.discriminatedUnion('op', [
  z.looseObject({ op: z.literal('emit'), id: z.string().min(1), at: z.string().optional(), item: JournalItem }),
  z.looseObject({
    op: z.literal('done'),
    id: z.string().min(1),
    item_id: z.string().min(1),
    created_at: z.string().min(1),
  }),
  z.looseObject({ op: z.literal('cursor'), item_id: z.string().min(1), created_at: z.string().min(1) }),
  z.looseObject({ op: z.literal('refused'), id: z.string().min(1), code: z.string().min(1), message: z.string() }),
]);
export type JournalRecord = z.output<typeof JournalRecord>;

export interface ConfirmedItem {
  item_id: string;
  created_at: string;
}

export interface PendingEmission {
  id: string;
  item: PostItemInput;
  /** Set when the server refused this emission for good (a `refused` line). */
  refused?: Refusal;
}

export interface JournalState {
  /** Emissions not yet confirmed, in emission order. */
  pending: PendingEmission[];
  /** The newest confirmed item: where a server look-up can stop searching back. */
  lastConfirmed: ConfirmedItem | null;
  /** Lines that could not be read (warned about, skipped). */
  skippedLines: number;
}

/** Reads a journal tolerantly. A missing file is an empty journal. */
export async function readJournal(path: string, logger: Logger): Promise<JournalState> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return { pending: [], lastConfirmed: null, skippedLines: 0 };
    throw new WorkerError('STATE_IO_ERROR', `${path} cannot be read (${err.code ?? 'error'})`);
  }
  const lines = text.split('\n');
  const endsClean = lines[lines.length - 1] === '';
  if (endsClean) lines.pop();
  const emits = new Map<string, PendingEmission>();
  let lastConfirmed: ConfirmedItem | null = null;
  let skippedLines = 0;
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const torn = !endsClean && index === lines.length - 1;
    let record: JournalRecord | undefined;
    try {
      const parsed = JournalRecord.safeParse(JSON.parse(line));
      if (parsed.success) record = parsed.data;
    } catch {
      // not JSON: handled below
    }
    if (!record) {
      skippedLines++;
      if (torn)
        logger.warn(
          'outbox_journal_torn_line',
          `${path}: the last line was cut short (an interrupted write); ignored`,
          { line: index + 1 },
        );
      else
        logger.warn('outbox_journal_bad_line', `${path}: line ${index + 1} is not a valid journal record; skipped`, {
          line: index + 1,
        });
      return;
    }
    if (record.op === 'emit') {
      if (!emits.has(record.id)) emits.set(record.id, { id: record.id, item: record.item });
    } else if (record.op === 'refused') {
      // Against an emission still pending; one already confirmed (or never journaled) has nothing to mark.
      const pending = emits.get(record.id);
      if (pending) pending.refused = { code: record.code, message: record.message };
    } else {
      if (record.op === 'done') emits.delete(record.id);
      lastConfirmed = { item_id: record.item_id, created_at: record.created_at };
    }
  });
  return { pending: [...emits.values()], lastConfirmed, skippedLines };
}

const emitLine = (id: string, item: PostItemInput): string =>
  JSON.stringify({ op: 'emit', id, at: new Date().toISOString(), item }) + '\n';
const cursorLine = (c: ConfirmedItem): string => JSON.stringify({ op: 'cursor', ...c }) + '\n';

/** One record per call; loops because a write to a file may be short. */
function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

/** An open journal: synchronous appends on one append-mode fd, so records keep emission order. */
export class Journal {
  private fd: number | null;
  /** Lines written since the last sync started. */
  private unsynced = false;
  private syncing: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Rewrites the journal atomically to exactly `state` (drops done and unreadable lines), then opens it. */
  static async openCompacted(
    path: string,
    state: { pending: Array<Pick<PendingEmission, 'id' | 'item'>>; lastConfirmed: ConfirmedItem | null },
  ): Promise<Journal> {
    let text = state.lastConfirmed ? cursorLine(state.lastConfirmed) : '';
    for (const p of state.pending) text += emitLine(p.id, p.item);
    await writeFileAtomic(path, text, { mode: 0o600 });
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return new Journal(path, openSync(path, 'a', 0o600));
  }

  /** Written before it returns (survives a process crash); `sync()` makes it survive an OS crash too. */
  appendEmit(id: string, item: PostItemInput): void {
    this.write(emitLine(id, item));
    this.unsynced = true;
  }

  /** Not synced (see the header): losing it only costs one more refusal of the same item. */
  appendRefused(id: string, refusal: Refusal): void {
    this.write(JSON.stringify({ op: 'refused', id, code: refusal.code, message: refusal.message }) + '\n');
  }

  appendDone(id: string, confirmed: ConfirmedItem): void {
    this.write(JSON.stringify({ op: 'done', id, ...confirmed }) + '\n');
  }

  /** Resolves once every line written so far is on disk; concurrent callers share one fdatasync. */
  async sync(): Promise<void> {
    while (this.unsynced) {
      if (!this.syncing) {
        const fd = this.requireFd();
        this.unsynced = false;
        this.syncing = new Promise<void>((resolve, reject) => {
          fdatasync(fd, (err) =>
            err
              ? reject(new WorkerError('STATE_IO_ERROR', `${this.path} cannot be synced (${err.code ?? 'error'})`))
              : resolve(),
          );
        }).finally(() => {
          this.syncing = null;
        });
      }
      await this.syncing;
    }
    // A sync another caller started after our last write also covers it.
    if (this.syncing) await this.syncing;
  }

  /** Everything is confirmed: empty the file, keeping only where the thread stands. */
  compact(confirmed: ConfirmedItem | null): void {
    const fd = this.requireFd();
    ftruncateSync(fd, 0);
    // Not synced: if this line is lost the journal is simply empty, which is also correct.
    if (confirmed) writeAll(fd, cursorLine(confirmed));
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  private write(line: string): void {
    const fd = this.requireFd();
    try {
      writeAll(fd, line);
    } catch (e) {
      throw new WorkerError(
        'STATE_IO_ERROR',
        `${this.path} cannot be written (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }

  private requireFd(): number {
    if (this.fd === null) throw new WorkerError('OUTBOX_CLOSED', `${this.path} is closed`);
    return this.fd;
  }
}
