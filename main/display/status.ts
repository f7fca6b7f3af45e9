/**
 * Derived, electron-free facts about a snapshot that the tray, the notifier and the windows share:
 * the overall icon state, which preflight failures send the user to the login window, failed threads.
 */
import type { Snapshot, SnapshotSection, SnapshotThread } from '../core/snapshot';

export type IconState = 'idle' | 'running' | 'needs_input' | 'error' | 'signed_out';
export const ICON_STATES: readonly IconState[] = ['idle', 'running', 'needs_input', 'error', 'signed_out'];

/** Preflight codes a new sign-in fixes: the app opens the login window for them instead of exiting. */
export const LOGIN_CODES: ReadonlySet<string> = new Set([
  'CREDENTIALS_NOT_FOUND',
  'IDENTITY_NOT_FOUND',
  'AUTH_INVALID',
  'USER_IDENTITY_MISMATCH',
]);

export function needsLogin(snapshot: Snapshot): boolean {
  if (snapshot.phase === 'signed_out') return true;
  return (
    snapshot.phase === 'preflight_failed' &&
    !!snapshot.preflight_error &&
    LOGIN_CODES.has(snapshot.preflight_error.code)
  );
}

export interface FailedThread {
  section: SnapshotSection;
  thread: SnapshotThread;
}

export function failedThreads(snapshot: Snapshot): FailedThread[] {
  return snapshot.sections.flatMap((section) =>
    section.threads.filter((t) => t.state === 'failed').map((thread) => ({ section, thread })),
  );
}

/**
 * One state for the icon. Order (decided; the spec is silent): signed out > preflight failure > a prompt
 * waiting (an agent is blocked right now) > failed threads / refused sections > a turn running > idle.
 */
export function iconState(snapshot: Snapshot): IconState {
  if (needsLogin(snapshot)) return 'signed_out';
  if (snapshot.phase === 'preflight_failed') return 'error';
  if (snapshot.prompts.length > 0) return 'needs_input';
  if (failedThreads(snapshot).length > 0 || snapshot.sections.some((s) => s.attachment === 'refused')) return 'error';
  if (snapshot.agents.busy > 0 || snapshot.sections.some((s) => s.threads.some((t) => t.state === 'active_turn')))
    return 'running';
  return 'idle';
}

export function sectionLabel(section: SnapshotSection): string {
  return section.name ?? section.session.session_id;
}

export function identityLabel(snapshot: Snapshot): string | null {
  const id = snapshot.identity;
  if (!id) return null;
  if (id.name && id.email) return `${id.name} <${id.email}>`;
  return id.name ?? id.email ?? id.user_id;
}

/** A one-line description of a prompt, for menus, notifications and lists. */
export function promptSummary(prompt: Snapshot['prompts'][number]): string {
  const p = prompt.payload;
  if (prompt.kind === 'approval') {
    const tool = typeof p.tool === 'object' && p.tool !== null ? (p.tool as { name?: unknown }).name : undefined;
    return `Approve ${typeof tool === 'string' ? tool : 'a tool call'}?`;
  }
  if (prompt.kind === 'ask_user_question') {
    const qs = Array.isArray(p.questions) ? p.questions : [];
    const first = qs[0] as { question?: unknown } | undefined;
    const text = typeof first?.question === 'string' ? first.question : 'A question';
    return qs.length > 1 ? `${text} (+${qs.length - 1} more)` : text;
  }
  return typeof p.question === 'string' ? p.question : 'The agent asks for input';
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** The core's remediations speak CLI; in the app a sign-in problem is fixed with the Sign in button. */
export function desktopRemediation(code: string, remediation: string | undefined): string | undefined {
  if (code === 'USER_IDENTITY_MISMATCH')
    return 'Sign in again and confirm the new user, or restore the prior identity.yaml.';
  if (LOGIN_CODES.has(code))
    return "Sign in with the API key of the worker's BlobHub user (same as `blobhub-worker login`).";
  return remediation;
}
