/** Display helpers shared by the views. */
import type { SnapshotThread, Snapshot } from '../main/core/snapshot';

export const THREAD_STATE_LABEL: Record<SnapshotThread['state'], string> = {
  active_turn: 'active (turn)',
  active_idle: 'active (idle)',
  pending: 'pending',
  completed: 'completed',
  failed: 'failed',
};

export const PHASE_LABEL: Record<Snapshot['phase'], string> = {
  signed_out: 'signed out',
  preflight_failed: 'not running',
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
};

/** `14:03:07` today, else `Nov 20 14:03`; unparseable strings are shown as they are. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const now = new Date();
  const hms = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === now.toDateString()
    ? hms
    : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hms}`;
}

export function resolvedLine(t: SnapshotThread): string {
  return [t.model ?? 'default model', t.effort ?? 'default effort', t.permissions ?? 'approval'].join(' · ');
}

export function short(id: string | null, n = 12): string {
  if (!id) return '—';
  return id.length > n ? `${id.slice(0, n)}…` : id;
}

/** `950`, `12.3k`, `4.1M`. */
export function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** `0.8 s`, `42 s`, `3 m 05 s`, `2 h 10 m`. */
export function duration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

export interface StatsLike {
  turns: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  agent_ms: number;
}

/** `3 turns · 12.3k in (8.0k cached) · 1.2k out · 45 s`, or `no turns yet`. */
export function statsLine(s: StatsLike): string {
  if (s.turns === 0) return 'no turns yet';
  return [
    `${s.turns} ${s.turns === 1 ? 'turn' : 'turns'}`,
    `${tokens(s.input_tokens)} in (${tokens(s.cached_tokens)} cached)`,
    `${tokens(s.output_tokens)} out`,
    duration(s.agent_ms),
  ].join(' · ');
}
