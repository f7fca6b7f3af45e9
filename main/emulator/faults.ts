/**
 * Fault injection (protocol §13): rules keyed by command name (plus `users/me`, `realtime` and `*` for
 * anything), consumed in insertion order. Latency rules add up and let the request continue; the first other
 * matching rule decides the outcome. Probabilities draw from a seeded RNG so a failing run can be replayed.
 */
import { z } from 'zod';

export const FAULT_KINDS = [
  'status',
  'client_error',
  'rate_limit',
  'drop_before',
  'drop_after',
  'latency',
  'malformed',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const FaultRuleShape = z.strictObject({
  /** A data command name, `users/me`, `realtime`, or `*` (every route). */
  command: z.string().min(1),
  /** Only requests whose body names this `alias` (data commands); absent = any alias, or none. */
  alias: z.string().min(1).optional(),
  /** `client_error`: an HTTP 4xx (default 400 `invalid_request`), nothing applied (the client's API_COMMAND_FAILED). */
  kind: z.enum(FAULT_KINDS),
  /** For `status`: the HTTP status to answer (500..599; default 500). For `client_error`: 400..499 except 429. */
  status: z.number().int().min(400).max(599).optional(),
  /** For `rate_limit`: the Retry-After header in seconds (default 1). */
  retryAfterSec: z.number().int().min(0).optional(),
  /**
   * For `malformed`: the raw text answered with HTTP 200 instead of the real reply (default `{"truncated`), for
   * fuzzing the client's response parsing. With `applied: true` the command takes effect first (like
   * `drop_after`, but the client gets an unreadable 2xx instead of a dropped connection).
   */
  body: z.string().max(1_000_000).optional(),
  applied: z.boolean().optional(),
  /** For `latency`: delay before handling, ms. */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** How many times the rule fires before it is spent; absent = forever. */
  times: z.number().int().positive().optional(),
  /** Chance (0..1) that a matching request triggers the rule; absent = always. */
  probability: z.number().min(0).max(1).optional(),
});
export const FaultRuleSchema = FaultRuleShape.superRefine((rule, ctx) => {
  if (rule.status === undefined) return;
  const ok =
    rule.kind === 'status'
      ? rule.status >= 500
      : rule.kind === 'client_error'
        ? rule.status < 500 && rule.status !== 429
        : false;
  if (!ok)
    ctx.addIssue({
      code: 'custom',
      path: ['status'],
      message: `status ${rule.status} does not fit a ${rule.kind} fault`,
    });
});
export type FaultRule = z.output<typeof FaultRuleSchema>;

/** What the transport must do with one request. */
export interface FaultDecision {
  latencyMs: number;
  action:
    | { kind: 'status'; status: number }
    | { kind: 'rate_limit'; retryAfterSec: number }
    | { kind: 'drop_before' }
    | { kind: 'drop_after' }
    | { kind: 'malformed'; body: string; applied: boolean }
    | null;
}

/** mulberry32: tiny, seedable, good enough to decide coin flips reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface LiveRule {
  rule: FaultRule;
  remaining: number;
}

export class FaultInjector {
  private rules: LiveRule[] = [];
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  add(rule: FaultRule): void {
    const parsed = FaultRuleSchema.parse(rule);
    this.rules.push({ rule: parsed, remaining: parsed.times ?? Number.POSITIVE_INFINITY });
  }

  /** Removes every rule, or only those for `command`. */
  clear(command?: string): void {
    this.rules = command === undefined ? [] : this.rules.filter((r) => r.rule.command !== command);
  }

  /** The rules still live, with how many firings each has left (null = unlimited). */
  list(): Array<FaultRule & { remaining: number | null }> {
    return this.rules.map((r) => ({ ...r.rule, remaining: Number.isFinite(r.remaining) ? r.remaining : null }));
  }

  /** `alias`: the request body's `alias`, when it has one. */
  decide(command: string, alias?: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, action: null };
    for (const live of this.rules) {
      if (live.remaining <= 0 || (live.rule.command !== command && live.rule.command !== '*')) continue;
      if (live.rule.alias !== undefined && live.rule.alias !== alias) continue;
      if (live.rule.kind !== 'latency' && decision.action) continue;
      if (live.rule.probability !== undefined && this.random() >= live.rule.probability) continue;
      live.remaining -= 1;
      const { rule } = live;
      if (rule.kind === 'latency') decision.latencyMs += rule.latencyMs ?? 0;
      else if (rule.kind === 'status') decision.action = { kind: 'status', status: rule.status ?? 500 };
      else if (rule.kind === 'client_error') decision.action = { kind: 'status', status: rule.status ?? 400 };
      else if (rule.kind === 'rate_limit')
        decision.action = { kind: 'rate_limit', retryAfterSec: rule.retryAfterSec ?? 1 };
      else if (rule.kind === 'malformed')
        decision.action = { kind: 'malformed', body: rule.body ?? '{"truncated', applied: rule.applied === true };
      else decision.action = { kind: rule.kind };
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return decision;
  }
}
