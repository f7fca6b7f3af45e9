/**
 * The workflow data commands of `POST /revisions/{rev}/data` (and `/data/query`): each body is parsed with
 * zod, then applied to the store. Response shapes for download / list / users/me are switchable so the
 * client's tolerant readers (protocol §3) can be tested against every documented alternative.
 */
import { z } from 'zod';
import { EmulatorError, describeIssues } from './errors';
import type { EmulatorUser, Envelope, Store } from './store';

export const ENGINE = 'workflow_blobhub';

export const SHAPES = {
  list: ['aliases', 'objects', 'items'],
  download: ['both', 'wrapped', 'top'],
  usersMe: ['both', 'nested', 'flat_id'],
} as const;

export interface ShapeVariants {
  /** `aliases`: `{"aliases":[…]}`; `objects`: `{"objects":[{alias,value:{type}}]}`; `items`: `{"items":[…]}` (same entries). */
  list: (typeof SHAPES.list)[number];
  /** `both`: `{"object": env, ...env}`; `wrapped`: `{"object": env}`; `top`: the envelope alone. */
  download: (typeof SHAPES.download)[number];
  /** `both`: `{"user":{…}, user_id, name, email}`; `nested`: `{"user":{…}}`; `flat_id`: `{id, name, email}`. */
  usersMe: (typeof SHAPES.usersMe)[number];
}

export const DEFAULT_SHAPES: ShapeVariants = { list: 'aliases', download: 'both', usersMe: 'both' };

export const ShapeVariantsPatch = z.strictObject({
  list: z.enum(SHAPES.list).optional(),
  download: z.enum(SHAPES.download).optional(),
  usersMe: z.enum(SHAPES.usersMe).optional(),
});

const id = z.string().min(1);
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

export const ObjectValueSchema = z.looseObject({ type: z.string().min(1, { error: 'value.type is required' }) });

export const ContentBlockSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z
    .looseObject({ type: z.literal('json'), json: z.unknown() })
    .refine((b) => 'json' in b, { error: 'a json block needs a "json" field' }),
]);

export const MetadataSchema = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((v) => v ?? undefined);

const CommandSchemas = {
  upload_session_object: z.looseObject({ session_id: id, alias: id, value: ObjectValueSchema }),
  download_session_object: z.looseObject({ session_id: id, alias: id }),
  list_session_objects: z.looseObject({ session_id: id }),
  delete_session_object: z.looseObject({ session_id: id, alias: id }),
  post_session_thread_item: z.looseObject({
    session_id: id,
    alias: id,
    content: z.array(ContentBlockSchema),
    parent_id: optionalString,
    metadata: MetadataSchema,
  }),
  list_session_thread_items: z.looseObject({
    session_id: id,
    alias: id,
    ascending: z
      .boolean()
      .nullish()
      .transform((v) => v ?? false),
    created_since: optionalString,
    created_before: optionalString,
  }),
  get_session_thread_item: z.looseObject({ session_id: id, alias: id, item_id: id }),
  /** Emulator-specific (docs/emulator.md, Session events): the event log, `created_since` in epoch ms. */
  list_session_events: z.looseObject({
    session_id: id,
    created_since: z
      .number()
      .nullish()
      .transform((v) => v ?? undefined),
  }),
} as const;

export type CommandName = keyof typeof CommandSchemas;
export const COMMANDS = Object.keys(CommandSchemas) as CommandName[];
export const MUTATING_COMMANDS: ReadonlySet<string> = new Set([
  'upload_session_object',
  'delete_session_object',
  'post_session_thread_item',
]);

/** The command name of a parsed body, if it has one (fault rules and counters key on it before validation). */
export function peekCommand(body: unknown): string | undefined {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const command = (body as Record<string, unknown>).command;
    if (typeof command === 'string') return command;
  }
  return undefined;
}

function parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new EmulatorError(400, 'invalid_request', `Invalid ${what} request: ${describeIssues(result.error.issues)}`);
  return result.data;
}

function listBody(envelopes: Envelope[], shape: ShapeVariants['list']): Record<string, unknown> {
  if (shape === 'aliases') return { aliases: envelopes.map((e) => e.alias) };
  const entries = envelopes.map((e) => ({ alias: e.alias, value: { type: e.value.type } }));
  return shape === 'objects' ? { objects: entries } : { items: entries };
}

function downloadBody(envelope: Envelope, shape: ShapeVariants['download']): Record<string, unknown> {
  if (shape === 'wrapped') return { object: envelope };
  if (shape === 'top') return { ...envelope };
  return { object: envelope, ...envelope };
}

export function usersMeBody(user: EmulatorUser, shape: ShapeVariants['usersMe']): Record<string, unknown> {
  const identity = { user_id: user.user_id, name: user.name, email: user.email };
  if (shape === 'nested') return { user: identity };
  if (shape === 'flat_id') return { id: user.user_id, name: user.name, email: user.email };
  return { user: identity, ...identity };
}

/** Applies one command body for `user` against `revisionId`; returns the 200 body or throws EmulatorError. */
export function runCommand(
  store: Store,
  shapes: ShapeVariants,
  user: EmulatorUser,
  revisionId: string,
  body: unknown,
): Record<string, unknown> {
  const head = parse(z.looseObject({ engine: z.string(), command: z.string() }), body, 'command');
  if (head.engine !== ENGINE)
    throw new EmulatorError(400, 'unknown_engine', `Unknown engine "${head.engine}"; expected "${ENGINE}".`);
  if (!Object.hasOwn(CommandSchemas, head.command))
    throw new EmulatorError(400, 'unknown_command', `Unknown command "${head.command}".`);
  const command = head.command as CommandName;
  const userId = user.user_id;
  const ref = (sessionId: string) => ({ revision_id: revisionId, session_id: sessionId });
  switch (command) {
    case 'upload_session_object': {
      const p = parse(CommandSchemas[command], body, command);
      store.upload(userId, ref(p.session_id), p.alias, p.value);
      return {};
    }
    case 'download_session_object': {
      const p = parse(CommandSchemas[command], body, command);
      return downloadBody(store.download(userId, ref(p.session_id), p.alias), shapes.download);
    }
    case 'list_session_objects': {
      const p = parse(CommandSchemas[command], body, command);
      return listBody(store.listObjects(userId, ref(p.session_id)), shapes.list);
    }
    case 'delete_session_object': {
      const p = parse(CommandSchemas[command], body, command);
      store.deleteObject(userId, ref(p.session_id), p.alias);
      return {};
    }
    case 'post_session_thread_item': {
      const p = parse(CommandSchemas[command], body, command);
      const item = store.post(userId, ref(p.session_id), p.alias, {
        content: p.content,
        parent_id: p.parent_id,
        metadata: p.metadata,
      });
      return { item };
    }
    case 'list_session_thread_items': {
      const p = parse(CommandSchemas[command], body, command);
      const items = store.listItems(userId, ref(p.session_id), p.alias, {
        ascending: p.ascending,
        created_since: p.created_since,
        created_before: p.created_before,
      });
      return { items };
    }
    case 'get_session_thread_item': {
      const p = parse(CommandSchemas[command], body, command);
      return { item: store.getItem(userId, ref(p.session_id), p.alias, p.item_id) };
    }
    case 'list_session_events': {
      const p = parse(CommandSchemas[command], body, command);
      return { events: store.events(userId, ref(p.session_id), p.created_since, store.pageSize) };
    }
  }
}
