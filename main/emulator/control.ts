/**
 * The control API: how tests and the sandbox set the emulator up and break it on purpose. Available in-process
 * (`emulator.control`) and over HTTP at `/__control/<method>` (JSON body = the named arguments) for a test or
 * sandbox that runs the emulator in another process; `connectControl(url)` is the matching remote client.
 * Mutations made here go through the same store rules, events and realtime pushes as REST ones.
 */
import { z } from 'zod';
import { EmulatorError, describeIssues } from './errors';
import { ShapeVariantsPatch, ContentBlockSchema, ObjectValueSchema, type ShapeVariants } from './commands';
import { FaultRuleSchema, type FaultInjector, type FaultRule } from './faults';
import type { RealtimeHub } from './realtime';
import type {
  ContentBlock,
  Envelope,
  ObjectValue,
  SessionEvent,
  SessionRef,
  SessionTuple,
  Store,
  ThreadItem,
} from './store';

export interface CountersSnapshot {
  /** Every request to the API surface (REST + realtime handshakes), faulted or not; control calls excluded. */
  requests: number;
  /** Keyed by route template: `GET /v1/users/me`, `POST /v1/revisions/{rev}/data`, `POST /v1/revisions/{rev}/data/query`, `GET /v1 (websocket)`, or `<METHOD> <path>` / `WS <path>` for unknown routes. */
  byRoute: Record<string, number>;
  /** Keyed by command name (`users/me` and `realtime` included; `(none)` when the body had no command). */
  byCommand: Record<string, number>;
  /** Keyed by the authenticated user_id. */
  byUser: Record<string, number>;
  /** Mutating commands received (upload / delete / post), whether or not they were applied. */
  mutating: number;
  /** Mutating commands actually applied to the store. */
  mutationsApplied: number;
}

export class Counters {
  private data: CountersSnapshot = Counters.empty();

  static empty(): CountersSnapshot {
    return { requests: 0, byRoute: {}, byCommand: {}, byUser: {}, mutating: 0, mutationsApplied: 0 };
  }

  route(route: string): void {
    this.data.requests += 1;
    this.data.byRoute[route] = (this.data.byRoute[route] ?? 0) + 1;
  }

  command(command: string, mutating: boolean): void {
    this.data.byCommand[command] = (this.data.byCommand[command] ?? 0) + 1;
    if (mutating) this.data.mutating += 1;
  }

  user(userId: string): void {
    this.data.byUser[userId] = (this.data.byUser[userId] ?? 0) + 1;
  }

  applied(): void {
    this.data.mutationsApplied += 1;
  }

  snapshot(): CountersSnapshot {
    return structuredClone(this.data);
  }

  reset(): void {
    this.data = Counters.empty();
  }
}

export type AuthMode = 'ok' | 401 | 403;

export interface EmulatorControl {
  createUser(input: { name: string; email: string; apiKey?: string }): { user_id: string; api_key: string };
  /** Ids default to fresh `org_`/`blb_`/`rev_`/`ses_` ULIDs; members are user_ids with access. */
  createSession(input?: {
    org_id?: string;
    blob_id?: string;
    revision_id?: string;
    session_id?: string;
    members?: string[];
  }): SessionTuple;
  grantAccess(ref: SessionRef, userId: string): void;
  revokeAccess(ref: SessionRef, userId: string): void;
  /** Posts as `userId` (who must have access), under the same rules as `post_session_thread_item`. */
  postItem(
    userId: string,
    ref: SessionRef,
    alias: string,
    content: ContentBlock[],
    metadata?: Record<string, unknown>,
  ): ThreadItem;
  /** Uploads as `userId` (who must have access), like `upload_session_object`. */
  uploadObject(userId: string, ref: SessionRef, alias: string, value: ObjectValue): Envelope;
  /** Deletes as the operator (cascade, event), like `delete_session_object`. */
  deleteObject(ref: SessionRef, alias: string): void;
  getObject(ref: SessionRef, alias: string): Envelope | null;
  listObjects(ref: SessionRef): Envelope[];
  /** Every item of the thread, oldest first, unpaged. */
  listItems(ref: SessionRef, alias: string): ThreadItem[];
  /** The session's event log, `created_at > since` (epoch ms). */
  events(ref: SessionRef, since?: number): SessionEvent[];
  addFault(rule: FaultRule): void;
  clearFaults(command?: string): void;
  faults(): Array<FaultRule & { remaining: number | null }>;
  counters(): CountersSnapshot;
  resetCounters(): void;
  /** Switches response shapes; returns the shapes now in force. */
  setShapes(patch: Partial<ShapeVariants>): ShapeVariants;
  /** Forces every authenticated route (REST and realtime) to answer 401 or 403 for this user's key; `ok` restores. */
  setAuth(userId: string, mode: AuthMode): void;
  /** Terminates every realtime connection (no close frame); returns how many. */
  dropRealtime(): number;
  /** While true, realtime handshakes are answered 503. */
  refuseRealtime(refuse: boolean): void;
  realtimeConnections(): number;
  setItemSizeCap(bytes: number): void;
  setPageSize(size: number): void;
  /** Every `count` consecutive items share one `created_at` (1 = strictly increasing, the default). */
  setItemStampRepeat(count: number): void;
}

export interface ControlDeps {
  store: Store;
  faults: FaultInjector;
  hub: RealtimeHub;
  counters: Counters;
  shapes: ShapeVariants;
}

/** The control API; every call's arguments are validated (the same schemas as over HTTP). */
export function createControl(deps: ControlDeps): EmulatorControl {
  const raw = rawControl(deps) as unknown as Record<string, (...args: unknown[]) => unknown>;
  const checked: Record<string, (...args: unknown[]) => unknown> = {};
  for (const method of CONTROL_METHODS) checked[method] = (...args) => raw[method](...validateArgs(method, args));
  return checked as unknown as EmulatorControl;
}

function rawControl({ store, faults, hub, counters, shapes }: ControlDeps): EmulatorControl {
  const orNull = <T>(fn: () => T): T | null => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof EmulatorError && e.code === 'not_found') return null;
      throw e;
    }
  };
  return {
    createUser: (input) => {
      const user = store.createUser(input);
      return { user_id: user.user_id, api_key: user.api_key };
    },
    createSession: (input = {}) => store.createSession(input),
    grantAccess: (ref, userId) => store.grant(ref, userId),
    revokeAccess: (ref, userId) => store.revoke(ref, userId),
    postItem: (userId, ref, alias, content, metadata) =>
      store.post(store.user(userId).user_id, ref, alias, { content, metadata }),
    uploadObject: (userId, ref, alias, value) => store.upload(store.user(userId).user_id, ref, alias, value),
    deleteObject: (ref, alias) => store.deleteObject(null, ref, alias),
    getObject: (ref, alias) => orNull(() => store.download(null, ref, alias)),
    listObjects: (ref) => store.listObjects(null, ref),
    listItems: (ref, alias) => store.allItems(ref, alias),
    events: (ref, since) => store.events(null, ref, since),
    addFault: (rule) => faults.add(rule),
    clearFaults: (command) => faults.clear(command),
    faults: () => faults.list(),
    counters: () => counters.snapshot(),
    resetCounters: () => counters.reset(),
    setShapes: (patch) => {
      Object.assign(shapes, patch);
      return { ...shapes };
    },
    setAuth: (userId, mode) => {
      store.user(userId).authOverride = mode === 'ok' ? null : mode;
    },
    dropRealtime: () => hub.dropAll(),
    refuseRealtime: (refuse) => {
      hub.refuse = refuse;
    },
    realtimeConnections: () => hub.connectionCount,
    setItemSizeCap: (bytes) => {
      store.itemSizeCap = bytes;
    },
    setPageSize: (size) => {
      store.pageSize = size;
    },
    setItemStampRepeat: (count) => {
      store.itemStampRepeat = count;
    },
  };
}

// ---- over HTTP ----

const id = z.string().min(1);
const Ref = z.looseObject({ revision_id: id, session_id: id });
const Alias = id;

/**
 * Each control method's named arguments, in call order, with their schemas. The HTTP body is an object with
 * these names (`{"userId":…, "ref":{…}, "alias":…}`); a method listed with `body` takes the whole body as its
 * single object argument instead (`createUser`, `createSession`, `addFault`, `setShapes`).
 */
const METHODS: { [K in keyof EmulatorControl]: { args: Array<[string, z.ZodType]>; body?: true } } = {
  createUser: {
    body: true,
    args: [
      [
        'input',
        z.strictObject({ name: z.string().min(1), email: z.string().min(1), apiKey: z.string().min(6).optional() }),
      ],
    ],
  },
  createSession: {
    body: true,
    args: [
      [
        'input',
        z
          .strictObject({
            org_id: id.optional(),
            blob_id: id.optional(),
            revision_id: id.optional(),
            session_id: id.optional(),
            members: z.array(id).optional(),
          })
          .optional(),
      ],
    ],
  },
  grantAccess: {
    args: [
      ['ref', Ref],
      ['userId', id],
    ],
  },
  revokeAccess: {
    args: [
      ['ref', Ref],
      ['userId', id],
    ],
  },
  postItem: {
    args: [
      ['userId', id],
      ['ref', Ref],
      ['alias', Alias],
      ['content', z.array(ContentBlockSchema)],
      ['metadata', z.record(z.string(), z.unknown()).optional()],
    ],
  },
  uploadObject: {
    args: [
      ['userId', id],
      ['ref', Ref],
      ['alias', Alias],
      ['value', ObjectValueSchema],
    ],
  },
  deleteObject: {
    args: [
      ['ref', Ref],
      ['alias', Alias],
    ],
  },
  getObject: {
    args: [
      ['ref', Ref],
      ['alias', Alias],
    ],
  },
  listObjects: { args: [['ref', Ref]] },
  listItems: {
    args: [
      ['ref', Ref],
      ['alias', Alias],
    ],
  },
  events: {
    args: [
      ['ref', Ref],
      ['since', z.number().optional()],
    ],
  },
  addFault: { body: true, args: [['rule', FaultRuleSchema]] },
  clearFaults: { args: [['command', z.string().min(1).optional()]] },
  faults: { args: [] },
  counters: { args: [] },
  resetCounters: { args: [] },
  setShapes: { body: true, args: [['patch', ShapeVariantsPatch]] },
  setAuth: {
    args: [
      ['userId', id],
      ['mode', z.union([z.literal('ok'), z.literal(401), z.literal(403)])],
    ],
  },
  dropRealtime: { args: [] },
  refuseRealtime: { args: [['refuse', z.boolean()]] },
  realtimeConnections: { args: [] },
  setItemSizeCap: { args: [['bytes', z.number().int().positive()]] },
  setPageSize: { args: [['size', z.number().int().positive()]] },
  setItemStampRepeat: { args: [['count', z.number().int().positive()]] },
};

export const CONTROL_METHODS = Object.keys(METHODS) as Array<keyof EmulatorControl>;

function validateArgs(method: keyof EmulatorControl, args: unknown[]): unknown[] {
  return METHODS[method].args.map(([name, schema], i) => {
    const parsed = schema.safeParse(args[i]);
    if (!parsed.success)
      throw new EmulatorError(
        400,
        'invalid_request',
        `Invalid ${method} argument "${name}": ${describeIssues(parsed.error.issues)}`,
      );
    return parsed.data;
  });
}

/** Runs `/__control/<method>` with a parsed JSON body; returns `{result}` or throws EmulatorError. */
export function callControl(control: EmulatorControl, method: string, body: unknown): { result: unknown } {
  if (!Object.hasOwn(METHODS, method)) throw new EmulatorError(404, 'not_found', `Unknown control method "${method}".`);
  const name = method as keyof EmulatorControl;
  const named = body ?? {};
  if (typeof named !== 'object' || Array.isArray(named))
    throw new EmulatorError(400, 'invalid_request', 'The control body must be a JSON object.');
  const spec = METHODS[name];
  const args = spec.body ? [named] : spec.args.map(([arg]) => (named as Record<string, unknown>)[arg]);
  const result = (control[name] as (...a: unknown[]) => unknown)(...args);
  return { result: result === undefined ? null : result };
}

/** The control API of an emulator in another process, every method async. */
export type RemoteControl = {
  [K in keyof EmulatorControl]: (...args: Parameters<EmulatorControl[K]>) => Promise<ReturnType<EmulatorControl[K]>>;
};

const RemoteAnswer = z.union([
  z.object({ result: z.unknown() }),
  z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
]);

export function connectControl(controlUrl: string): RemoteControl {
  const remote: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of CONTROL_METHODS) {
    const spec = METHODS[method];
    remote[method] = async (...args) => {
      const body = spec.body ? (args[0] ?? {}) : Object.fromEntries(spec.args.map(([name], i) => [name, args[i]]));
      const res = await fetch(`${controlUrl}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = RemoteAnswer.parse(await res.json());
      if ('error' in answer)
        throw new EmulatorError(res.status, answer.error.code as EmulatorError['code'], answer.error.message);
      return answer.result;
    };
  }
  return remote as RemoteControl;
}
