/** The §11 backoff and retry policy, with an injected clock/sleep so the timing is exact and fast. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay, parseRetryAfter, withRetry } from '../../main/core/api/retry';
import { ApiError, type ApiErrorCode } from '../../main/core/api/errors';

const err = (code: ApiErrorCode, extra: Partial<{ retryAfterMs: number; status: number }> = {}) =>
  new ApiError(code, code, { command: 'x', ...extra });

test('backoff: min(max, 500 × 2^(n-1)) ± 20 %, capped, reset', () => {
  const mid = { random: () => 0.5 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, { ...mid, maxMs: 30_000 })),
    [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
  );
  assert.equal(backoffDelay(1, { random: () => 0 }), 400);
  assert.equal(backoffDelay(1, { random: () => 0.999999 }), 600);
  assert.equal(backoffDelay(5000, { ...mid, maxMs: 1234 }), 1234);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(3);
    assert.ok(d >= 1600 && d <= 2400, String(d));
  }
  const b = new Backoff({ ...mid });
  assert.deepEqual([b.next(), b.next(), b.next()], [500, 1000, 2000]);
  b.reset();
  assert.equal(b.next(), 500);
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter('0'), 0);
  assert.equal(parseRetryAfter(['2']), 2000);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:05 GMT', now), 0);
  assert.equal(parseRetryAfter('soon'), null);
  assert.equal(parseRetryAfter(undefined), null);
});

function harness() {
  const waits: number[] = [];
  let clock = 0;
  return {
    waits,
    opts: {
      random: () => 0.5,
      now: () => clock,
      sleep: async (ms: number) => {
        waits.push(ms);
        clock += ms;
      },
    },
  };
}

test('withRetry: transient classes retry with growing waits; success returns', async () => {
  const h = harness();
  const seq: ApiErrorCode[] = ['API_NETWORK_ERROR', 'API_TRANSIENT_ERROR', 'API_TRANSIENT_ERROR', 'API_NETWORK_ERROR'];
  let calls = 0;
  const out = await withRetry(async () => {
    const c = seq[calls++];
    if (c) throw err(c);
    return 'ok';
  }, h.opts);
  assert.equal(out, 'ok');
  assert.equal(calls, 5);
  assert.deepEqual(h.waits, [500, 1000, 2000, 4000]);
});

test('withRetry: 429 waits at least Retry-After', async () => {
  const h = harness();
  let calls = 0;
  await withRetry(async () => {
    if (calls++ < 2) throw err('API_RATE_LIMITED', { retryAfterMs: calls === 1 ? 3000 : 100 });
  }, h.opts);
  assert.deepEqual(h.waits, [3000, 1000]);
});

test('withRetry: API_COMMAND_FAILED gives up after 3 answers; fatal errors at once; retry:none once', async () => {
  for (const code of ['API_COMMAND_FAILED', 'API_BAD_RESPONSE'] as const) {
    const h = harness();
    let calls = 0;
    await assert.rejects(
      withRetry(async () => {
        calls++;
        throw err(code);
      }, h.opts),
      { code },
    );
    assert.equal(calls, 3);
  }
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw err('AUTH_INVALID');
    }, harness().opts),
    { code: 'AUTH_INVALID' },
  );
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw new Error('boom');
    }, harness().opts),
    /boom/,
  );
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw err('API_TRANSIENT_ERROR');
      },
      { ...harness().opts, retry: 'none' },
    ),
  );
  assert.equal(calls, 3);
});

test('withRetry: deadline and maxAttempts bound a transient storm; abort stops the wait', async () => {
  const h = harness();
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw err('API_TRANSIENT_ERROR');
      },
      { ...h.opts, deadlineMs: 5000 },
    ),
  );
  assert.deepEqual(h.waits, [500, 1000, 2000]); // the next wait (4000) would pass the deadline
  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw err('API_NETWORK_ERROR');
      },
      { ...harness().opts, maxAttempts: 3 },
    ),
  );
  assert.equal(calls, 3);

  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(
    withRetry(
      async () => {
        throw err('API_NETWORK_ERROR');
      },
      { signal: ac.signal, baseMs: 10_000 },
    ),
    (e: unknown) => {
      assert.ok(e instanceof ApiError && e.aborted);
      return true;
    },
  );
  assert.ok(Date.now() - started < 2000);
});
