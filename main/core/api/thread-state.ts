/**
 * Reading and writing a job envelope's control channel `value.thread.metadata.instance.state`
 * (session-agent-harness.md §5, decisions §6.4): read-modify-write of the whole value, changing only that
 * one field. Used by `blobhub-worker reset` and reusable by `WorkerHost.resetThread`.
 */
import { WorkerError } from '../errors';
import type { BlobHubApi, CallOptions, Envelope, SessionRef } from './types';

/** The state string of a job envelope, or `null` when the object is not a job (decisions §6.1). */
export function envelopeState(env: Envelope): string | null {
  if (env.value.type !== 'thread') return null;
  const thread = (env.value as Record<string, unknown>).thread as Record<string, unknown> | undefined;
  const metadata = thread?.metadata as Record<string, unknown> | undefined;
  const instance = metadata?.instance as Record<string, unknown> | undefined;
  return typeof instance?.state === 'string' ? instance.state : null;
}

/** A deep copy of `value` with only `thread.metadata.instance.state` replaced; every other key kept. */
export function withEnvelopeState(value: Record<string, unknown>, state: string): Record<string, unknown> {
  const copy = structuredClone(value) as Record<string, unknown>;
  const thread = copy.thread as Record<string, unknown>;
  const metadata = thread.metadata as Record<string, unknown>;
  metadata.instance = { ...(metadata.instance as Record<string, unknown>), state };
  return copy;
}

export const RESETTABLE_STATES = ['failed', 'completed'] as const;

/**
 * Sets a failed/completed thread back to `pending`. Unknown alias / not a job → NOT_FOUND; any other state
 * → INVALID_STATE; in both cases nothing is written. Returns the previous state.
 */
export async function resetThreadToPending(api: BlobHubApi, ref: SessionRef, alias: string, options?: CallOptions): Promise<string> {
  const env = await api.downloadSessionObject(ref, alias, options);
  if (!env) throw new WorkerError('NOT_FOUND', `no session object "${alias}" in session ${ref.session_id}`);
  const state = envelopeState(env);
  if (state === null) {
    throw new WorkerError('NOT_FOUND', `"${alias}" is not a worker thread (no value.thread.metadata.instance.state)`);
  }
  if (!(RESETTABLE_STATES as readonly string[]).includes(state)) {
    throw new WorkerError('INVALID_STATE', `thread "${alias}" is ${state}; only failed or completed threads can be reset`);
  }
  await api.uploadSessionObject(ref, alias, withEnvelopeState(env.value, 'pending'), options);
  return state;
}
