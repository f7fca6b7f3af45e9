/**
 * Backoff and retry of protocol §11, shared by the REST client, the realtime reconnect loop and the harness.
 *
 * - delay(n) = min(backoff_max_ms, 500 ms × 2^(n-1)) ± 20 % jitter; a fresh `Backoff` (or `reset()`) after
 *   a success starts again at 500 ms.
 * - API_NETWORK_ERROR / API_TRANSIENT_ERROR / API_RATE_LIMITED: retried until `deadlineMs` (forever without).
 * - API_RATE_LIMITED waits at least the server's Retry-After.
 * - API_COMMAND_FAILED / API_BAD_RESPONSE: at most `maxCommandFailures` (3) answers in total, then surfaced.
 * - Anything else (AUTH_INVALID, non-API errors, an abort) surfaces at once.
 */
import { ApiError } from './errors';

export const DEFAULT_BACKOFF_BASE_MS = 500;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
export const BACKOFF_JITTER = 0.2;
export const MAX_COMMAND_FAILURES = 3;

export interface BackoffOptions {
  /** Cap (`polling.backoff_max_ms`). */
  maxMs?: number;
  baseMs?: number;
  /** Fraction of ± jitter; 0.2 by default. */
  jitter?: number;
  /** Injectable for tests; returns [0, 1). */
  random?: () => number;
}

/** The delay before retry number `attempt` (1-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const max = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const jitter = options.jitter ?? BACKOFF_JITTER;
  const random = options.random ?? Math.random;
  // 2^(n-1) overflows to Infinity for silly n; min() keeps it at the cap.
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.round(raw * (1 + jitter * (2 * random() - 1))));
}

/** A stateful backoff: `next()` grows the delay, `reset()` after a success starts over. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions = {}) {}
  next(): number {
    this.attempt += 1;
    return backoffDelay(this.attempt, this.options);
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}

export type RetryClass = 'transient' | 'limited' | 'fatal';

/** How protocol §11 treats an error. */
export function classifyForRetry(e: unknown): RetryClass {
  if (!(e instanceof ApiError) || e.aborted) return 'fatal';
  switch (e.code) {
    case 'API_NETWORK_ERROR':
    case 'API_TRANSIENT_ERROR':
    case 'API_RATE_LIMITED':
      return 'transient';
    case 'API_COMMAND_FAILED':
    case 'API_BAD_RESPONSE':
      return 'limited';
    default:
      return 'fatal';
  }
}

export interface RetryOptions extends BackoffOptions {
  /** `none`: exactly one attempt. */
  retry?: 'default' | 'none';
  /** Give up (rethrow the last error) once the next wait would end after this many ms from the start. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Total attempts cap regardless of class (for quick checks such as preflight). */
  maxAttempts?: number;
  maxCommandFailures?: number;
  /** Override the classification (e.g. to make a 404 final for one call). */
  classify?: (e: unknown) => RetryClass;
  /** Called before each wait; the error is about to be retried. */
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
  /** Injectable clock/sleep for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Resolves after `ms`; rejects with an aborted ApiError when the signal fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A cancelled call always surfaces as one recognisable error: `ApiError` with `aborted: true`. */
function abortReason(_signal: AbortSignal): Error {
  return new ApiError('API_NETWORK_ERROR', 'the call was cancelled', { command: 'retry', aborted: true });
}

/** Parses a Retry-After header: delta-seconds or an HTTP date. `null` when absent or unparsable. */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | null {
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'number') return value >= 0 ? Math.round(value * 1000) : null;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** Runs `fn` until it succeeds or protocol §11 says stop. `fn` receives the 1-based attempt number. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const classify = options.classify ?? classifyForRetry;
  const maxFailures = options.maxCommandFailures ?? MAX_COMMAND_FAILURES;
  const started = now();
  const backoff = new Backoff(options);
  let limitedFailures = 0;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    try {
      return await fn(attempt);
    } catch (e) {
      if (options.retry === 'none') throw e;
      const cls = classify(e);
      if (cls === 'fatal') throw e;
      if (cls === 'limited' && ++limitedFailures >= maxFailures) throw e;
      if (options.maxAttempts !== undefined && attempt >= options.maxAttempts) throw e;
      let delay = backoff.next();
      const retryAfter = e instanceof ApiError ? e.retryAfterMs : null;
      if (retryAfter !== null && retryAfter > delay) delay = retryAfter;
      if (options.deadlineMs !== undefined && now() - started + delay > options.deadlineMs) throw e;
      options.onRetry?.(e, attempt, delay);
      await wait(delay, options.signal);
    }
  }
}
