/**
 * When a section reconciles next (protocol §4), as a pure function of what the section knows now:
 *
 * - realtime off (or reconnecting): every `polling.interval_active_ms` while a thread is active, else every
 *   `polling.interval_idle_ms`;
 * - realtime connected: the safety net every `realtimeReconcileMs` (60 s), lengthened to
 *   `realtimeQuietReconcileMs` (5 min) only while the connection has answered a keep-alive within
 *   `keepAliveFreshMs` (60 s). The lengthening ends the moment that keep-alive goes stale: the answer then
 *   falls back to the 60 s rule, counted from the last reconcile (so an overdue one runs at once);
 * - every period is start to start, with at least a tenth of it as rest after a slow reconcile.
 *
 * A (re)connect reconciles at once through the feed's onConnected, not through this schedule.
 */
import type { RealtimeStatus } from '../api/realtime';

export type CadenceMode = 'realtime-quiet' | 'realtime' | 'active' | 'idle';

export interface CadenceTiming {
  /** protocol §4: the safety net while realtime is connected, 60 s. */
  realtimeReconcileMs: number;
  /** protocol §4: the lengthened safety net, at most 5 min. */
  realtimeQuietReconcileMs: number;
  /** protocol §4: how recent the last answered keep-alive must be for the lengthened period, 60 s. */
  keepAliveFreshMs: number;
}

export interface CadenceInput {
  realtime: RealtimeStatus;
  /** When the live connection last answered a keep-alive (epoch ms), or null. */
  keepAliveAt: number | null;
  anyActive: boolean;
  polling: { interval_active_ms: number; interval_idle_ms: number };
  timing: CadenceTiming;
  /** When the last reconcile started and ended (epoch ms). */
  lastStartedAt: number;
  lastEndedAt: number;
}

export interface NextReconcile {
  mode: CadenceMode;
  /** The period of that mode. */
  intervalMs: number;
  /** When the reconcile is due under this mode. */
  dueAt: number;
  /**
   * When to look again even if nothing wakes the loop: `dueAt`, or earlier when the lengthened period holds
   * only until the keep-alive goes stale.
   */
  wakeAt: number;
}

export function keepAliveFresh(input: Pick<CadenceInput, 'realtime' | 'keepAliveAt' | 'timing'>, now: number): boolean {
  return (
    input.realtime === 'connected' &&
    input.keepAliveAt !== null &&
    now - input.keepAliveAt <= input.timing.keepAliveFreshMs
  );
}

export function nextReconcile(input: CadenceInput, now: number): NextReconcile {
  const { timing, polling } = input;
  let mode: CadenceMode;
  let intervalMs: number;
  if (input.realtime === 'connected') {
    const quiet = keepAliveFresh(input, now);
    mode = quiet ? 'realtime-quiet' : 'realtime';
    intervalMs = quiet
      ? Math.max(timing.realtimeQuietReconcileMs, timing.realtimeReconcileMs)
      : timing.realtimeReconcileMs;
  } else if (input.anyActive) {
    mode = 'active';
    intervalMs = polling.interval_active_ms;
  } else {
    mode = 'idle';
    intervalMs = polling.interval_idle_ms;
  }
  const dueAt = Math.max(input.lastStartedAt + intervalMs, input.lastEndedAt + Math.ceil(intervalMs / 10));
  let wakeAt = dueAt;
  if (mode === 'realtime-quiet') {
    // Past this the keep-alive is stale unless another pong came: look again then (or at the 60 s mark).
    const staleAt = input.keepAliveAt! + timing.keepAliveFreshMs + 1;
    const fallbackDue = Math.max(
      input.lastStartedAt + timing.realtimeReconcileMs,
      input.lastEndedAt + Math.ceil(timing.realtimeReconcileMs / 10),
    );
    wakeAt = Math.min(dueAt, Math.max(staleAt, fallbackDue));
  }
  return { mode, intervalMs, dueAt, wakeAt };
}
