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
