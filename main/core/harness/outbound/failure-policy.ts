/**
 * The outbox's failure policy (protocol §8.3), apart from the queue that applies it: how one failed attempt
 * is classified (too large / counted / transient / aborted, ambiguous or not), which definite answers refuse
 * the item itself, and how a journaled refusal becomes its `item_refused` placeholder on the next open.
 */
import { ApiError } from '../../api/errors';
import { WorkerError, toWorkerError } from '../../errors';
import type { Logger } from '../../log';
import type { ThreadLogRecord } from '../../agents/thread-log';
import { isRefusedItemPlaceholder, refusedItemPlaceholder, type Refusal } from './items';
import type { PendingEmission } from './journal';

/** Where a replaced refusal is reported (a subset of OutboxOptions). */
export interface RefusalReporting {
  alias: string;
  logger: Logger;
  threadLog?: { append(record: ThreadLogRecord): void };
}

/** How an error from one attempt is handled. */
export interface Failure {
  error: WorkerError;
  kind: 'too_large' | 'limited' | 'transient' | 'aborted';
  ambiguous: boolean;
  retryAfterMs: number | null;
}

export function classify(e: unknown): Failure {
  if (e instanceof ApiError) {
    if (e.aborted) return { error: e, kind: 'aborted', ambiguous: true, retryAfterMs: null };
    if (e.serverCode === 'thread_item_too_large' || e.status === 413) {
      return { error: e, kind: 'too_large', ambiguous: false, retryAfterMs: null };
    }
    switch (e.code) {
      case 'API_NETWORK_ERROR':
        return { error: e, kind: 'transient', ambiguous: e.ambiguous, retryAfterMs: null };
      case 'API_TRANSIENT_ERROR':
        // protocol §8.3: a 5xx is ambiguous whatever the client could tell.
        return { error: e, kind: 'transient', ambiguous: true, retryAfterMs: e.retryAfterMs };
      case 'API_RATE_LIMITED':
        return { error: e, kind: 'transient', ambiguous: false, retryAfterMs: e.retryAfterMs };
      case 'API_BAD_RESPONSE':
        // A success status with an unreadable body: the item may well be stored.
        return { error: e, kind: 'limited', ambiguous: true, retryAfterMs: null };
      default:
        return { error: e, kind: 'limited', ambiguous: e.ambiguous, retryAfterMs: e.retryAfterMs };
    }
  }
  // Not an API answer (a bug or an unexpected throw): count it like a refused command, and look before reposting.
  return { error: toWorkerError(e), kind: 'limited', ambiguous: true, retryAfterMs: null };
}

/**
 * Whether a definite 4xx answer is about the item itself (400 / 422: its content or shape), so that the item may
 * give way to a placeholder after a reset. 401/403/404/407/409 are about the key, the membership, the thread or
 * the proxy: the item is fine, and after the user fixes that it must be posted as it is (protocol §8.3).
 */
export function refusesTheItem(error: WorkerError): boolean {
  return (
    error instanceof ApiError && error.code === 'API_COMMAND_FAILED' && (error.status === 400 || error.status === 422)
  );
}

/**
 * A journaled emission the server refused for good becomes its placeholder (same `emission_id`, same place);
 * a refused placeholder stays as it is (no placeholder of a placeholder). Logged in section.log and thread.log.
 */
export function replaceRefused(p: PendingEmission, options: RefusalReporting): PendingEmission {
  if (!p.refused) return p;
  const refusal: Refusal = p.refused;
  const fields = { emission_id: p.id, code: refusal.code, message: refusal.message };
  if (isRefusedItemPlaceholder(p.item)) {
    options.logger.warn(
      'outbox_placeholder_refused',
      `the placeholder ${p.id} was refused too (${refusal.code}); posting it again`,
      { thread: options.alias, ...fields },
    );
    return { id: p.id, item: p.item };
  }
  options.logger.warn(
    'outbox_item_replaced',
    `item ${p.id} was refused for good (${refusal.code}); posting a placeholder in its place`,
    { thread: options.alias, ...fields },
  );
  options.threadLog?.append({
    src: 'worker',
    event: 'outbox_item_replaced',
    ...fields,
    kind: p.item.metadata?.type ?? null,
  });
  return { id: p.id, item: refusedItemPlaceholder(p.item, p.id, refusal) };
}
