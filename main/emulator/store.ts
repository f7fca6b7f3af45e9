/**
 * The emulator's state and the server-side rules of protocol §13 (docs/emulator.md, REST and Session events): users by API key,
 * sessions keyed by (revision_id, session_id) with members, session objects (envelopes), per-thread item lists,
 * a per-session event log. REST commands and the control API both go through this class, so a mutation made
 * either way is validated, stamped and announced identically.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import { EmulatorError } from './errors';

export interface EmulatorUser {
  user_id: string;
  name: string;
  email: string;
  api_key: string;
  /** A forced auth answer for this key (the "key revoked" flip); null = normal. */
  authOverride: 401 | 403 | null;
}

export interface SessionRef {
  revision_id: string;
  session_id: string;
}

export interface SessionTuple extends SessionRef {
  org_id: string;
  blob_id: string;
}

export interface ObjectValue {
  type: string;
  [key: string]: unknown;
}

export interface Envelope {
  revision_id: string;
  session_id: string;
  alias: string;
  updated_at: string;
  value: ObjectValue;
}

export interface ContentBlock {
  type: string;
  [key: string]: unknown;
}

export interface ThreadItem {
  id: string;
  revision_id: string;
  session_id: string;
  alias: string;
  created_at: string;
  user_id: string;
  content: ContentBlock[];
  parent_id?: string;
  metadata?: Record<string, unknown>;
}

export const SESSION_EVENT_TYPES = [
  'session_object_modified',
  'session_object_deleted',
  'session_thread_item_posted',
] as const;
export type SessionEventType = (typeof SESSION_EVENT_TYPES)[number];

export interface SessionEvent {
  id: string;
  revision_id: string;
  session_id: string;
  /** Epoch milliseconds; strictly increasing across the emulator so an ms cursor never skips an event. */
  created_at: number;
  type: SessionEventType;
  session_object?: { alias: string };
  alias?: string;
  item_id?: string;
}

export interface PostItemInput {
  content: ContentBlock[];
  parent_id?: string;
  metadata?: Record<string, unknown>;
}

export interface ListItemsQuery {
  ascending?: boolean;
  created_since?: string;
  created_before?: string;
}

interface Session {
  tuple: SessionTuple;
  members: Set<string>;
  objects: Map<string, Envelope>;
  /** Thread items per alias, kept in ascending `created_at` order (append-only). */
  items: Map<string, ThreadItem[]>;
  events: SessionEvent[];
}

/**
 * Microsecond timestamps, strictly increasing across calls even when many land in the same millisecond.
 * Always formatted the same way (`2026-06-06T10:00:00.000000+00:00`) so lexical order == time order.
 */
export class MicroClock {
  private lastUs = 0;
  private lastMs = 0;

  nextIso(): string {
    this.lastUs = Math.max(Date.now() * 1000, this.lastUs + 1);
    return formatMicros(this.lastUs);
  }

  nextMs(): number {
    this.lastMs = Math.max(Date.now(), this.lastMs + 1);
    return this.lastMs;
  }
}

export function formatMicros(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}+00:00`;
}

const nextUlid = monotonicFactory();
export const newApiKey = (): string => `bhk_${randomBytes(24).toString('base64url')}`;
const prefixed = (prefix: string) => `${prefix}_${nextUlid()}`;
const clone = <T>(v: T): T => structuredClone(v);
const refKey = (ref: SessionRef): string => `${ref.revision_id}\u0000${ref.session_id}`;

export interface StoreOptions {
  pageSize: number;
  itemSizeCap: number;
  /** How many consecutive items share one `created_at` (1 = every item its own stamp). */
  itemStampRepeat?: number;
}

export class Store {
  pageSize: number;
  itemSizeCap: number;
  private readonly clock = new MicroClock();
  private stampRepeat = 1;
  private stampUses = 0;
  private lastItemStamp = '';
  private readonly users = new Map<string, EmulatorUser>();
  private readonly usersByKey = new Map<string, EmulatorUser>();
  private readonly sessions = new Map<string, Session>();
  private readonly listeners = new Set<(event: SessionEvent) => void>();

  constructor(options: StoreOptions) {
    this.pageSize = options.pageSize;
    this.itemStampRepeat = options.itemStampRepeat ?? 1;
    this.itemSizeCap = options.itemSizeCap;
  }

  /** Called synchronously for every session event (realtime fan-out). */
  onEvent(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- users ----

  createUser(input: { name: string; email: string; apiKey?: string }): EmulatorUser {
    const apiKey = input.apiKey ?? newApiKey();
    if (this.usersByKey.has(apiKey)) throw new EmulatorError(409, 'conflict', 'That API key is already in use.');
    const user: EmulatorUser = {
      user_id: prefixed('usr'),
      name: input.name,
      email: input.email,
      api_key: apiKey,
      authOverride: null,
    };
    this.users.set(user.user_id, user);
    this.usersByKey.set(apiKey, user);
    return user;
  }

  userByKey(key: string | undefined): EmulatorUser | undefined {
    return key === undefined ? undefined : this.usersByKey.get(key);
  }

  user(userId: string): EmulatorUser {
    const user = this.users.get(userId);
    if (!user) throw new EmulatorError(404, 'not_found', `Unknown user ${userId}.`);
    return user;
  }

  // ---- sessions and access ----

  createSession(input: Partial<SessionTuple> & { members?: string[] }): SessionTuple {
    const tuple: SessionTuple = {
      org_id: input.org_id ?? prefixed('org'),
      blob_id: input.blob_id ?? prefixed('blb'),
      revision_id: input.revision_id ?? prefixed('rev'),
      session_id: input.session_id ?? prefixed('ses'),
    };
    if (this.sessions.has(refKey(tuple))) throw new EmulatorError(409, 'conflict', 'That session already exists.');
    const members = new Set<string>();
    for (const id of input.members ?? []) members.add(this.user(id).user_id);
    this.sessions.set(refKey(tuple), { tuple, members, objects: new Map(), items: new Map(), events: [] });
    return { ...tuple };
  }

  grant(ref: SessionRef, userId: string): void {
    this.sessionOf(ref, null).members.add(this.user(userId).user_id);
  }

  revoke(ref: SessionRef, userId: string): void {
    this.sessionOf(ref, null).members.delete(userId);
  }

  hasAccess(ref: SessionRef, userId: string): boolean {
    return this.sessions.get(refKey(ref))?.members.has(userId) ?? false;
  }

  /** The session, checked for `userId` (null = the operator, who sees everything): 404 unknown, 403 no access. */
  private sessionOf(ref: SessionRef, userId: string | null): Session {
    const session = this.sessions.get(refKey(ref));
    if (!session) {
      throw new EmulatorError(404, 'not_found', `Session ${ref.session_id} not found in revision ${ref.revision_id}.`);
    }
    if (userId !== null && !session.members.has(userId)) {
      throw new EmulatorError(403, 'forbidden', `No access to session ${ref.session_id}.`);
    }
    return session;
  }

  private emit(session: Session, type: SessionEventType, extra: Partial<SessionEvent>): void {
    const event: SessionEvent = {
      id: randomUUID(),
      revision_id: session.tuple.revision_id,
      session_id: session.tuple.session_id,
      created_at: this.clock.nextMs(),
      type,
      ...extra,
    };
    session.events.push(event);
    for (const listener of this.listeners) {
      try {
        listener(clone(event));
      } catch {
        // A listener's failure must not fail the command that already took effect.
      }
    }
  }

  // ---- session objects ----

  upload(userId: string | null, ref: SessionRef, alias: string, value: ObjectValue): Envelope {
    const session = this.sessionOf(ref, userId);
    const envelope: Envelope = {
      revision_id: session.tuple.revision_id,
      session_id: session.tuple.session_id,
      alias,
      updated_at: this.clock.nextIso(),
      value: clone(value), // full replace: nothing of the previous value survives
    };
    session.objects.set(alias, envelope);
    this.emit(session, 'session_object_modified', { session_object: { alias } });
    return clone(envelope);
  }

  download(userId: string | null, ref: SessionRef, alias: string): Envelope {
    const envelope = this.sessionOf(ref, userId).objects.get(alias);
    if (!envelope) throw new EmulatorError(404, 'not_found', `Session object "${alias}" not found.`);
    return clone(envelope);
  }

  listObjects(userId: string | null, ref: SessionRef): Envelope[] {
    return [...this.sessionOf(ref, userId).objects.values()].map(clone);
  }

  /** Deletes the envelope; for threads the items go with it (cascade). */
  deleteObject(userId: string | null, ref: SessionRef, alias: string): void {
    const session = this.sessionOf(ref, userId);
    if (!session.objects.delete(alias))
      throw new EmulatorError(404, 'not_found', `Session object "${alias}" not found.`);
    session.items.delete(alias);
    this.emit(session, 'session_object_deleted', { session_object: { alias } });
  }

  // ---- thread items ----

  private threadItems(session: Session, alias: string): ThreadItem[] {
    const envelope = session.objects.get(alias);
    if (!envelope || envelope.value.type !== 'thread') {
      throw new EmulatorError(
        400,
        'invalid_thread_envelope',
        envelope
          ? `Session object "${alias}" is of type "${envelope.value.type}", not "thread".`
          : `Thread "${alias}" does not exist.`,
      );
    }
    let items = session.items.get(alias);
    if (!items) session.items.set(alias, (items = []));
    return items;
  }

  post(userId: string, ref: SessionRef, alias: string, input: PostItemInput): ThreadItem {
    const session = this.sessionOf(ref, userId);
    const items = this.threadItems(session, alias);
    const item: ThreadItem = {
      id: prefixed('itm'),
      revision_id: session.tuple.revision_id,
      session_id: session.tuple.session_id,
      alias,
      created_at: '',
      user_id: userId,
      content: clone(input.content),
      ...(input.parent_id !== undefined ? { parent_id: input.parent_id } : {}),
      ...(input.metadata !== undefined ? { metadata: clone(input.metadata) } : {}),
    };
    // Measured with a stamp of the final length, before the clock advances, so a refused item costs nothing.
    const size = Buffer.byteLength(JSON.stringify({ ...item, created_at: formatMicros(0) }), 'utf8');
    if (size > this.itemSizeCap) {
      throw new EmulatorError(
        413,
        'thread_item_too_large',
        `The serialized item is ${size} bytes; the server accepts at most ${this.itemSizeCap}.`,
      );
    }
    item.created_at = this.nextItemStamp();
    items.push(item);
    this.emit(session, 'session_thread_item_posted', { alias, item_id: item.id });
    return clone(item);
  }

  /**
   * Every `n` consecutive posted items (across the emulator) share one `created_at`; 1 restores strictly increasing
   * stamps. The BlobHub API only promises a strict `created_since`, not unique stamps: this proves a client that
   * pages with it skips nothing (docs/emulator.md, "Equal timestamps"). Takes effect with the next item.
   */
  set itemStampRepeat(n: number) {
    this.stampRepeat = Math.max(1, Math.floor(n));
    this.stampUses = 0;
  }

  get itemStampRepeat(): number {
    return this.stampRepeat;
  }

  private nextItemStamp(): string {
    if (this.stampUses === 0 || this.stampUses >= this.stampRepeat) {
      this.lastItemStamp = this.clock.nextIso();
      this.stampUses = 0;
    }
    this.stampUses++;
    return this.lastItemStamp;
  }

  /** One page, strict bounds compared lexically on the server's own strings (docs/emulator.md, REST). */
  listItems(userId: string | null, ref: SessionRef, alias: string, query: ListItemsQuery): ThreadItem[] {
    const items = this.threadItems(this.sessionOf(ref, userId), alias);
    const { created_since: since, created_before: before } = query;
    const matching = items.filter(
      (i) => (since === undefined || i.created_at > since) && (before === undefined || i.created_at < before),
    );
    const ordered = query.ascending ? matching : matching.reverse();
    return ordered.slice(0, this.pageSize).map(clone);
  }

  /** Every item of a thread, oldest first, unpaged (operator view). */
  allItems(ref: SessionRef, alias: string): ThreadItem[] {
    return (this.sessionOf(ref, null).items.get(alias) ?? []).map(clone);
  }

  getItem(userId: string | null, ref: SessionRef, alias: string, itemId: string): ThreadItem {
    const item = this.sessionOf(ref, userId)
      .items.get(alias)
      ?.find((i) => i.id === itemId);
    if (!item) throw new EmulatorError(404, 'not_found', `Item ${itemId} not found in thread "${alias}".`);
    return clone(item);
  }

  /** Events with `created_at > since` (epoch ms), oldest first; `limit` caps the page. */
  events(userId: string | null, ref: SessionRef, since?: number, limit = Number.POSITIVE_INFINITY): SessionEvent[] {
    return this.sessionOf(ref, userId)
      .events.filter((e) => since === undefined || e.created_at > since)
      .slice(0, limit)
      .map(clone);
  }
}
