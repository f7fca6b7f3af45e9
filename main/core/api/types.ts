/**
 * BlobHub wire shapes (protocol §3) as tolerant zod schemas, and the client interface the harness uses.
 * Tolerant reader: unknown fields pass through untouched (`looseObject`) so nothing the server adds is lost
 * when the worker writes an envelope back; documented alternatives are accepted (protocol §3).
 */
import { z } from 'zod';

export const ContentBlock = z.union([
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z.looseObject({ type: z.literal('json'), json: z.unknown() }),
  z.looseObject({ type: z.string() }),
]);
export type ContentBlock = z.output<typeof ContentBlock>;

export const ThreadItem = z.looseObject({
  id: z.string().min(1),
  session_id: z.string().optional(),
  revision_id: z.string().optional(),
  alias: z.string().optional(),
  created_at: z.string().min(1),
  user_id: z.string().nullable().optional(),
  content: z.array(ContentBlock).catch([]),
  parent_id: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type ThreadItem = z.output<typeof ThreadItem>;

export const SessionObjectValue = z.looseObject({ type: z.string() });
export type SessionObjectValue = z.output<typeof SessionObjectValue>;

export const Envelope = z.looseObject({
  revision_id: z.string().optional(),
  session_id: z.string().optional(),
  alias: z.string().min(1),
  updated_at: z.string().optional(),
  value: SessionObjectValue,
});
export type Envelope = z.output<typeof Envelope>;

/** The thread envelope's `value.thread.metadata` written by users (protocol §6). */
export const HandoffMetadata = z.looseObject({
  workspace: z.looseObject({ work_folder: z.unknown().optional() }).nullable().optional(),
  agent: z
    .looseObject({
      type: z.unknown().optional(),
      executable: z.unknown().optional(),
      model: z.unknown().optional(),
      effort: z.unknown().optional(),
      permissions: z.unknown().optional(),
    })
    .nullable()
    .optional(),
  instance: z.looseObject({ state: z.unknown().optional() }).nullable().optional(),
});
export type HandoffMetadata = z.output<typeof HandoffMetadata>;

export const UserIdentity = z.object({
  user_id: z.string().min(1),
  name: z.string().nullable(),
  email: z.string().nullable(),
});
export type UserIdentity = z.output<typeof UserIdentity>;

/** A session event (protocol §4); `created_at` is epoch milliseconds. */
export const SessionEvent = z.looseObject({
  // Tolerant reader: only `type` is required; an odd optional field is dropped, never the whole event.
  id: z.string().optional().catch(undefined),
  revision_id: z.string().optional().catch(undefined),
  session_id: z.string().optional().catch(undefined),
  created_at: z.number().optional().catch(undefined),
  type: z.string(),
  session_object: z.looseObject({ alias: z.string() }).optional().catch(undefined),
  alias: z.string().optional().catch(undefined),
  item_id: z.string().optional().catch(undefined),
});
export type SessionEvent = z.output<typeof SessionEvent>;

/** Identifies one session: commands go to `/revisions/{revision_id}/data` with `session_id` in the body. */
export interface SessionRef {
  revision_id: string;
  session_id: string;
}

export interface PostItemInput {
  content: ContentBlock[];
  metadata?: Record<string, unknown>;
  parent_id?: string;
}

export interface ListItemsQuery {
  ascending?: boolean;
  created_since?: string;
  created_before?: string;
}

/**
 * How a call retries (protocol §11). `default`: retry transient classes forever with backoff (until
 * `deadlineMs`), `API_COMMAND_FAILED` up to 3 times. `none`: one attempt, errors surface classified —
 * the outbox uses this to handle ambiguous failures itself.
 */
export interface CallOptions {
  retry?: 'default' | 'none';
  /** Give up (rethrow the last error) after this long in total. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface BlobHubApi {
  getMe(options?: CallOptions): Promise<UserIdentity>;
  uploadSessionObject(
    ref: SessionRef,
    alias: string,
    value: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<void>;
  /** `null` when the object does not exist (404 / `not_found`). */
  downloadSessionObject(ref: SessionRef, alias: string, options?: CallOptions): Promise<Envelope | null>;
  /** Aliases of every object in the session. A 404/403 surfaces as `ApiError` with `status`. */
  listSessionObjects(ref: SessionRef, options?: CallOptions): Promise<string[]>;
  deleteSessionObject(ref: SessionRef, alias: string, options?: CallOptions): Promise<void>;
  postThreadItem(ref: SessionRef, alias: string, item: PostItemInput, options?: CallOptions): Promise<ThreadItem>;
  /** One server page. */
  listThreadItems(ref: SessionRef, alias: string, query: ListItemsQuery, options?: CallOptions): Promise<ThreadItem[]>;
  /** `null` when missing. */
  getThreadItem(ref: SessionRef, alias: string, itemId: string, options?: CallOptions): Promise<ThreadItem | null>;
}
