/**
 * Every write the worker makes to a session object (protocol §5, §6.4). Writes are read-modify-write: the
 * current envelope is downloaded and only the worker's own field changes, so keys a user or a newer server
 * added survive. A write whose precondition no longer holds (the user changed the state meanwhile) is skipped.
 */
import { isDeepStrictEqual } from 'node:util';
import type { BlobHubApi, Envelope, SessionRef } from '../api/types';
import { withRetry } from '../api/retry';
import { WORKER_ALIAS } from './handoff';
import { asRecord, type JsonRecord as Json } from '../json';

export interface InstanceBlock {
  instance_id: string;
  version: string;
  started_at: string;
  last_seen_at: string;
  /** Always `attached` in v1 (informational). */
  status: 'attached';
}

/** The value of a freshly created `worker` object (protocol §5). */
export function newWorkerObjectValue(userId: string, instance: InstanceBlock): Json {
  return {
    type: 'thread',
    thread: {
      attributes: { name: 'worker', description: 'BlobHub worker activity log' },
      metadata: { user: { user_id: userId }, instance },
    },
  };
}

/** The same value with `metadata.instance` replaced and every other key kept (re-attach). */
export function withInstance(value: Json, instance: Json): Json {
  const thread = asRecord(value.thread);
  const metadata = asRecord(thread.metadata);
  return { ...value, thread: { ...thread, metadata: { ...metadata, instance } } };
}

export function workerObjectOwner(envelope: Envelope): string | null {
  const user = asRecord(asRecord(asRecord(asRecord(envelope.value).thread).metadata).user);
  return typeof user.user_id === 'string' ? user.user_id : null;
}

export function instanceOf(envelope: Envelope): Json {
  return asRecord(asRecord(asRecord(envelope.value.thread).metadata).instance);
}

export type RmwOutcome = 'written' | 'missing' | 'precondition_failed';

/**
 * Sets `value.thread.metadata.instance.state` to `next` when `expect(currentState)` holds. A deleted envelope
 * (`missing`) or a state the user changed meanwhile (`precondition_failed`) leaves the server untouched.
 */
export async function writeInstanceState(
  api: BlobHubApi,
  ref: SessionRef,
  alias: string,
  next: 'active' | 'failed' | 'pending',
  expect: (current: unknown) => boolean,
): Promise<RmwOutcome> {
  return patchThreadMetadata(api, ref, alias, (metadata) => {
    const instance = asRecord(metadata.instance);
    if (!expect(instance.state)) return null;
    return { ...metadata, instance: { ...instance, state: next } };
  });
}

/**
 * Generic RMW of `value.thread.metadata`: `mutate` returns the new metadata, or null to skip the write.
 * Only `thread` values are touched: anything else is `precondition_failed`.
 *
 * The API has no conditional write, so a user's upload that lands between our download and our upload is
 * lost; that window is kept to one round trip. A failed upload is therefore never re-sent as it was: the
 * whole read-modify-write is retried, so each attempt starts from the user's latest value. When the failure
 * was ambiguous and our write did land, the next read finds exactly our value and the write counts as done.
 */
export async function patchThreadMetadata(
  api: BlobHubApi,
  ref: SessionRef,
  alias: string,
  mutate: (metadata: Json) => Json | null,
  options: { deadlineMs?: number } = {},
): Promise<RmwOutcome> {
  let attempted: Json | null = null;
  return withRetry(
    async () => {
      const envelope = await api.downloadSessionObject(ref, alias, { deadlineMs: options.deadlineMs });
      if (!envelope) return 'missing';
      if (envelope.value.type !== 'thread') return 'precondition_failed';
      const value = envelope.value as Json;
      const thread = asRecord(value.thread);
      const current = asRecord(thread.metadata);
      if (attempted && isDeepStrictEqual(current, attempted)) return 'written';
      const next = mutate(current);
      if (!next) return 'precondition_failed';
      attempted = next;
      await api.uploadSessionObject(ref, alias, { ...value, thread: { ...thread, metadata: next } }, { retry: 'none' });
      return 'written';
    },
    { deadlineMs: options.deadlineMs },
  );
}

export interface HeartbeatWrite {
  outcome: RmwOutcome;
  /** The value written (when `written`). */
  value: Json | null;
}

/** Heartbeat (protocol §5): RMW of `metadata.instance.last_seen_at`, only while the object is still ours. */
export async function touchWorkerObject(
  api: BlobHubApi,
  ref: SessionRef,
  userId: string,
  lastSeenAt: string,
  beforeUpload: () => void = () => undefined,
): Promise<HeartbeatWrite> {
  const envelope = await api.downloadSessionObject(ref, WORKER_ALIAS);
  if (!envelope) return { outcome: 'missing', value: null };
  if (envelope.value.type !== 'thread' || workerObjectOwner(envelope) !== userId)
    return { outcome: 'precondition_failed', value: null };
  const instance = { ...instanceOf(envelope), last_seen_at: lastSeenAt };
  const value = withInstance(envelope.value, instance);
  beforeUpload();
  await api.uploadSessionObject(ref, WORKER_ALIAS, value);
  return { outcome: 'written', value };
}

/**
 * The same write without the read, from the value we wrote last (protocol §4: only while the realtime feed
 * vouches nobody else modified `worker` since; see Heartbeat in section-attach.ts).
 */
export async function touchKnownWorkerObject(
  api: BlobHubApi,
  ref: SessionRef,
  known: Json,
  lastSeenAt: string,
  beforeUpload: () => void = () => undefined,
): Promise<HeartbeatWrite> {
  const instance = { ...asRecord(asRecord(asRecord(known.thread).metadata).instance), last_seen_at: lastSeenAt };
  const value = withInstance(known, instance);
  beforeUpload();
  await api.uploadSessionObject(ref, WORKER_ALIAS, value);
  return { outcome: 'written', value };
}
