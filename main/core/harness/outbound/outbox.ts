/**
 * Exactly-once posting of one thread's items (protocol §8.3, §11, §8.2).
 *
 * - `enqueue` fits the item to the budget, appends it to the journal and fsyncs, then returns: an emission
 *   the caller has seen accepted survives a crash.
 * - One post at a time, in emission order, each a single attempt (`retry: 'none'`); this class owns the retry
 *   loop so it can tell ambiguous failures apart.
 * - After an ambiguous failure (network error, timeout, reset, 5xx) and for every emission replayed from a
 *   crashed run, the thread's newest items are searched for the `emission_id` before posting again.
 * - A confirmed emission is marked done in the journal; when nothing is pending the journal is emptied.
 * - 10 minutes of failures, or 3 `API_COMMAND_FAILED` answers → `THREAD_POST_FAILED`; `thread_item_too_large`
 *   → one re-fit to a quarter of the budget, then `THREAD_ITEM_TOO_LARGE`. Both go to `onFatal`, posting
 *   stops and the journal is kept.
 * - A permanent refusal (the 3rd `API_COMMAND_FAILED`, or too large after the re-fit; not the 10-minute window)
 *   is journaled against its emission (`refused`). The next open posts, in its place and under the same
 *   `emission_id`, a `status` placeholder (`item_refused`), so a reset gets the thread going again; a refused
 *   placeholder is retried as it is, never replaced by another.
 *
 * How one failed attempt is classified and how a refusal becomes its placeholder is failure-policy.ts. This
 * file stays over 400 lines on purpose: the queue, the retry loop and the replay search share one state
 * (the entry in flight, the journal, the stop flag), and the exactly-once argument reads in one place.
 */
import type { BlobHubApi, PostItemInput, SessionRef, ThreadItem } from '../../api/types';
import { Backoff, MAX_COMMAND_FAILURES, sleep } from '../../api/retry';
import { WorkerError, toWorkerError } from '../../errors';
import type { Logger } from '../../log';
import { newEmissionId } from '../../ids';
import type { ThreadLogRecord } from '../../agents/thread-log';
import { ITEM_BUDGET_BYTES, fitToBudget, itemBytes } from './budget';
import { REFUSAL_MESSAGE_MAX_CHARS, clip, emissionIdOf, oneLine } from './items';
import { Journal, readJournal, type ConfirmedItem } from './journal';
import { classify, refusesTheItem, replaceRefused, type Failure } from './failure-policy';

export const DEFAULT_POST_DEADLINE_MS = 10 * 60 * 1000;
/** Pages searched back when no confirmed item bounds the search ("a page or two"). */
export const DEFAULT_LOOKBACK_PAGES = 2;
/** Upper bound when searching back to the last confirmed item (50-item pages: 1000 items). */
export const MAX_LOOKBACK_PAGES = 20;
/** How long `close()` lets an in-flight post finish before abandoning it. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;

export interface OutboxOptions {
  api: BlobHubApi;
  ref: SessionRef;
  alias: string;
  /** `threads/{alias}/outbox.jsonl` (JobPaths.threadOutbox). */
  journalPath: string;
  /** Receives the full payload of every truncated or rejected item. */
  threadLog?: { append(record: ThreadLogRecord): void };
  logger: Logger;
  /** THREAD_POST_FAILED or THREAD_ITEM_TOO_LARGE; posting has stopped, the journal is kept. */
  onFatal: (error: WorkerError) => void;
  /** After the server confirmed an emission (also for replayed ones found already stored). */
  onPosted?: (posted: { emissionId: string; item: ThreadItem }) => void;
  /** Every failed attempt that will be retried (the desktop's warning ribbon). */
  onTransientError?: (error: WorkerError) => void;
  postDeadlineMs?: number;
  budgetBytes?: number;
  /** `polling.backoff_max_ms`. */
  backoffMaxMs?: number;
  lookbackPages?: number;
}

export interface Enqueued {
  emissionId: string;
  /** Resolves with the stored item; rejects with the fatal error, or OUTBOX_CLOSED. Never unhandled. */
  posted: Promise<ThreadItem>;
}

interface Entry {
  emissionId: string;
  /** What is posted (already fitted). */
  item: PostItemInput;
  /** The caller's item when it was truncated: the re-fit starts from it and it is what thread.log keeps. */
  original: PostItemInput | null;
  /** True when the server may already hold this emission. */
  needsCheck: boolean;
  refitted: boolean;
  /** Whether thread.log already holds the untruncated payload. */
  logged: boolean;
  resolve(item: ThreadItem): void;
  reject(error: WorkerError): void;
  promise: Promise<ThreadItem>;
}

type Outcome = 'posted' | 'stop';

function newEntry(emissionId: string, item: PostItemInput, original: PostItemInput | null, needsCheck: boolean): Entry {
  let resolve!: (item: ThreadItem) => void;
  let reject!: (error: WorkerError) => void;
  const promise = new Promise<ThreadItem>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers may ignore `posted`; a failure is reported through onFatal, never as an unhandled rejection.
  promise.catch(() => undefined);
  return {
    emissionId,
    item,
    original,
    needsCheck,
    refitted: false,
    logged: original !== null,
    resolve,
    reject,
    promise,
  };
}

export class Outbox {
  private readonly queue: Entry[] = [];
  private state: 'running' | 'failed' | 'closed' = 'running';
  private fatalError: WorkerError | null = null;
  private pump: Promise<void> | null = null;
  /** Ends a wait between retries (at once on close). */
  private readonly stopWaiting = new AbortController();
  /** Abandons a request in flight (on close, after the grace period). */
  private readonly abort = new AbortController();
  private waiters: Array<() => void> = [];
  private readonly postDeadlineMs: number;
  private readonly budgetBytes: number;
  private readonly log: Logger;

  private constructor(
    private readonly options: OutboxOptions,
    private readonly journal: Journal,
    private lastConfirmed: ConfirmedItem | null,
  ) {
    this.postDeadlineMs = options.postDeadlineMs ?? DEFAULT_POST_DEADLINE_MS;
    this.budgetBytes = options.budgetBytes ?? ITEM_BUDGET_BYTES;
    this.log = options.logger.child({ thread: options.alias });
  }

  /**
   * Opens the thread's outbox. A journal left by a crashed run is compacted and its unconfirmed emissions are
   * queued first, each checked against the server before it is posted again.
   */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const state = await readJournal(options.journalPath, options.logger);
    // The compacted journal holds the placeholder instead of the refused item (its payload is in thread.log).
    state.pending = state.pending.map((p) => replaceRefused(p, options));
    const journal = await Journal.openCompacted(options.journalPath, state);
    const outbox = new Outbox(options, journal, state.lastConfirmed);
    for (const p of state.pending) outbox.queue.push(newEntry(p.id, p.item, null, true));
    if (state.pending.length > 0) {
      outbox.log.info('outbox_replay', `${state.pending.length} unconfirmed item(s) from the previous run`, {
        pending: state.pending.length,
      });
      outbox.kick();
    }
    return outbox;
  }

  /** Items not yet confirmed by the server. */
  get pending(): number {
    return this.queue.length;
  }

  /** The fatal error once the outbox has failed. */
  get failure(): WorkerError | null {
    return this.fatalError;
  }

  /**
   * Accepts one item: fits it to the budget, journals it (written now, synced before it is posted), and queues it. The item's
   * `metadata.emission_id` is kept (one is minted when missing). Throws OUTBOX_CLOSED after `close()`, or
   * STATE_IO_ERROR when the journal cannot be written (nothing was queued then).
   */
  enqueue(input: PostItemInput): Enqueued {
    if (this.state === 'closed')
      throw new WorkerError('OUTBOX_CLOSED', `the outbox of ${this.options.alias} is closed`);
    const emissionId = emissionIdOf(input) ?? newEmissionId();
    const item: PostItemInput = { ...input, metadata: { ...(input.metadata ?? {}), emission_id: emissionId } };
    const fit = fitToBudget(item, this.budgetBytes);
    this.journal.appendEmit(emissionId, fit.item);
    const entry = newEntry(emissionId, fit.item, fit.truncated ? item : null, false);
    if (fit.truncated)
      this.logPayload('outbox_item_truncated', entry, item, {
        original_bytes: fit.originalBytes,
        fields: fit.truncated.fields,
      });
    if (this.state === 'failed') {
      // Journaled for the next run; this run posts nothing more.
      entry.reject(this.fatalError!);
      return { emissionId, posted: entry.promise };
    }
    this.queue.push(entry);
    this.kick();
    return { emissionId, posted: entry.promise };
  }

  /** Resolves when nothing is pending; rejects with the fatal error, or OUTBOX_CLOSED if closed first. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.state === 'failed') throw this.fatalError!;
      if (this.queue.length === 0) return;
      if (this.state === 'closed')
        throw new WorkerError(
          'OUTBOX_CLOSED',
          `the outbox of ${this.options.alias} closed with ${this.queue.length} item(s) pending`,
        );
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /**
   * Stops posting at a safe point: a wait between retries ends at once; a post in flight may finish within
   * `graceMs`, then it is abandoned (it stays in the journal and is looked up on the next open). Unconfirmed
   * items reject with OUTBOX_CLOSED. Idempotent.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.state !== 'closed') {
      const wasRunning = this.state === 'running';
      this.state = 'closed';
      const pump = this.pump;
      this.stopWaiting.abort();
      if (wasRunning && pump) {
        const grace = options.graceMs ?? DEFAULT_CLOSE_GRACE_MS;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([pump, new Promise<void>((r) => (timer = setTimeout(r, grace)))]);
        clearTimeout(timer);
      }
      this.abort.abort();
      // The client honours the abort; the bound only guards against one that does not.
      if (pump) await Promise.race([pump.catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
      const closed = new WorkerError(
        'OUTBOX_CLOSED',
        `the outbox of ${this.options.alias} was closed before the item was posted`,
      );
      for (const entry of this.queue) entry.reject(closed);
      this.journal.close();
      this.notify();
    }
  }

  // ------------------------------------------------------------------------------------------- internals

  private kick(): void {
    if (this.pump || this.state !== 'running') return;
    this.pump = this.run().finally(() => {
      this.pump = null;
      // Something may have been queued while the loop was finishing.
      if (this.state === 'running' && this.queue.length > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    while (this.state === 'running' && this.queue.length > 0) {
      const outcome = await this.postHead();
      if (outcome === 'stop') return;
    }
  }

  /** Posts `queue[0]` until it is confirmed, the outbox fails, or it closes. */
  private async postHead(): Promise<Outcome> {
    const entry = this.queue[0];
    const started = Date.now();
    const backoff = new Backoff({ maxMs: this.options.backoffMaxMs });
    let commandFailures = 0;
    for (;;) {
      if (this.state !== 'running') return 'stop';
      let failure: Failure;
      try {
        if (entry.needsCheck) {
          await this.lookUp();
          if (this.queue[0] !== entry) return 'posted'; // it was on the server already
          continue;
        }
        // Nothing reaches the server before its journal line is on disk (group commit: one sync per burst).
        await this.journal.sync();
        const stored = await this.options.api.postThreadItem(this.options.ref, this.options.alias, entry.item, {
          retry: 'none',
          signal: this.abort.signal,
        });
        this.confirm(entry, stored);
        return 'posted';
      } catch (e) {
        failure = classify(e);
      }
      if (this.state !== 'running' || failure.kind === 'aborted') {
        entry.needsCheck = true;
        return 'stop';
      }
      if (failure.ambiguous) entry.needsCheck = true;

      if (failure.kind === 'too_large') {
        if (this.refit(entry)) continue;
        this.fail(
          entry,
          new WorkerError(
            'THREAD_ITEM_TOO_LARGE',
            `the server refused item ${entry.emissionId} as too large (${itemBytes(entry.item)} bytes after truncation)`,
            { emission_id: entry.emissionId },
          ),
          failure,
        );
        return 'stop';
      }
      if (failure.kind === 'limited' && ++commandFailures >= MAX_COMMAND_FAILURES) {
        // Only a definite 4xx answer is a refusal of the item; 3 unreadable answers or throws are not.
        this.fail(
          entry,
          new WorkerError(
            'THREAD_POST_FAILED',
            `posting to ${this.options.alias} failed ${commandFailures} times: ${failure.error.message}`,
            { emission_id: entry.emissionId, last_code: failure.error.code },
          ),
          refusesTheItem(failure.error) ? failure : undefined,
        );
        return 'stop';
      }
      const elapsed = Date.now() - started;
      if (elapsed >= this.postDeadlineMs) {
        this.fail(
          entry,
          new WorkerError(
            'THREAD_POST_FAILED',
            `posting to ${this.options.alias} still failed after ${Math.round(elapsed / 1000)} s of retries: ${failure.error.message}`,
            { emission_id: entry.emissionId, last_code: failure.error.code },
          ),
        );
        return 'stop';
      }
      let delay = backoff.next();
      if (failure.retryAfterMs !== null && failure.retryAfterMs > delay) delay = failure.retryAfterMs;
      delay = Math.min(delay, this.postDeadlineMs - elapsed);
      this.log.warn('outbox_retry', `posting failed (${failure.error.code}); retrying in ${delay} ms`, {
        code: failure.error.code,
        emission_id: entry.emissionId,
        delay_ms: delay,
        ambiguous: failure.ambiguous,
      });
      this.options.onTransientError?.(failure.error);
      try {
        await sleep(delay, this.stopWaiting.signal);
      } catch {
        return 'stop';
      }
    }
  }

  /**
   * Looks for every queued emission that may be stored already, newest items first, back to the last
   * confirmed item (or a page or two when none is known). Found ones are confirmed; the others are known to
   * be absent and are posted without another look.
   */
  private async lookUp(): Promise<void> {
    const wanted = new Set(this.queue.filter((e) => e.needsCheck).map((e) => e.emissionId));
    const found = new Map<string, ThreadItem>();
    const stopAt = this.lastConfirmed?.created_at ?? null;
    const maxPages = stopAt ? MAX_LOOKBACK_PAGES : (this.options.lookbackPages ?? DEFAULT_LOOKBACK_PAGES);
    let before: string | undefined;
    for (let page = 0; page < maxPages && found.size < wanted.size; page++) {
      const items = await this.options.api.listThreadItems(
        this.options.ref,
        this.options.alias,
        before === undefined ? { ascending: false } : { ascending: false, created_before: before },
        { retry: 'none', signal: this.abort.signal },
      );
      if (items.length === 0) break;
      let oldest = items[0].created_at;
      for (const item of items) {
        const id = emissionIdOf(item);
        if (id && wanted.has(id) && !found.has(id)) found.set(id, item);
        if (item.created_at < oldest) oldest = item.created_at;
      }
      if (stopAt !== null && oldest <= stopAt) break;
      before = oldest;
    }
    this.log.info(
      'outbox_lookup',
      `looked for ${wanted.size} emission(s) on the server; ${found.size} already stored`,
      {
        wanted: wanted.size,
        found: found.size,
      },
    );
    // Confirm in emission order so done records, callbacks and the cursor follow the thread's order.
    for (const entry of [...this.queue]) {
      if (!entry.needsCheck) continue;
      const stored = found.get(entry.emissionId);
      if (stored) this.confirm(entry, stored);
      else entry.needsCheck = false;
    }
  }

  private confirm(entry: Entry, stored: ThreadItem): void {
    const index = this.queue.indexOf(entry);
    if (index < 0) return;
    this.queue.splice(index, 1);
    const confirmed = { item_id: stored.id, created_at: stored.created_at };
    if (!this.lastConfirmed || confirmed.created_at >= this.lastConfirmed.created_at) this.lastConfirmed = confirmed;
    try {
      if (this.queue.length === 0) this.journal.compact(this.lastConfirmed);
      else this.journal.appendDone(entry.emissionId, confirmed);
    } catch (e) {
      // The item is stored; a journal that still lists it only costs a look-up on the next open.
      this.log.warn('outbox_journal_write_failed', toWorkerError(e).message, { emission_id: entry.emissionId });
    }
    entry.resolve(stored);
    try {
      this.options.onPosted?.({ emissionId: entry.emissionId, item: stored });
    } catch (e) {
      this.log.warn('outbox_callback_failed', `onPosted threw: ${toWorkerError(e).message}`);
    }
    this.notify();
  }

  /** One re-fit to a quarter of the (smaller of budget, current size). False when there is nothing to gain. */
  private refit(entry: Entry): boolean {
    if (entry.refitted) return false;
    entry.refitted = true;
    const source = entry.original ?? entry.item;
    const current = itemBytes(entry.item);
    const fit = fitToBudget(source, Math.floor(Math.min(this.budgetBytes, current) / 4));
    if (!fit.truncated || fit.bytes >= current) return false;
    if (!entry.logged)
      this.logPayload('outbox_item_truncated', entry, source, {
        original_bytes: fit.originalBytes,
        fields: fit.truncated.fields,
      });
    this.log.warn(
      'outbox_refit',
      `the server refused ${entry.emissionId} as too large; retrying at ${fit.bytes} bytes`,
      {
        emission_id: entry.emissionId,
        bytes: fit.bytes,
      },
    );
    entry.item = fit.item;
    return true;
  }

  /** `refusedBy`: the answer that refused the item for good; it is journaled so the next open replaces the item. */
  private fail(entry: Entry, error: WorkerError, refusedBy?: Failure): void {
    this.state = 'failed';
    this.fatalError = error;
    this.log.error('outbox_failed', error.message, {
      code: error.code,
      emission_id: entry.emissionId,
      refused: refusedBy !== undefined,
    });
    this.logPayload('outbox_item_rejected', entry, entry.original ?? entry.item, {
      code: error.code,
      message: error.message,
    });
    if (refusedBy) {
      try {
        this.journal.appendRefused(entry.emissionId, {
          code: error.code,
          message: clip(oneLine(refusedBy.error.message), REFUSAL_MESSAGE_MAX_CHARS),
        });
      } catch (e) {
        // Then the next open posts the item itself again, as before this mark existed.
        this.log.warn('outbox_journal_write_failed', toWorkerError(e).message, { emission_id: entry.emissionId });
      }
    }
    for (const e of this.queue) e.reject(error);
    this.notify();
    try {
      this.options.onFatal(error);
    } catch (e) {
      this.log.warn('outbox_callback_failed', `onFatal threw: ${toWorkerError(e).message}`);
    }
  }

  private logPayload(event: string, entry: Entry, payload: PostItemInput, fields: Record<string, unknown>): void {
    entry.logged = true;
    this.options.threadLog?.append({ src: 'worker', event, emission_id: entry.emissionId, ...fields, item: payload });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
