/**
 * The one typed IPC contract between the Electron main process and the renderer windows: channel →
 * {input, output} zod schemas. Main validates every input with it (router.ts) and parses every output
 * through it, so only whitelisted fields cross (zod objects drop unknown keys: no stray secret can ride
 * along). The preload and renderer import only types from here (plus `channels.ts` at runtime).
 *
 * Kept free of node types so `tsconfig.web.json` can type-check the renderer against it.
 */
import { z } from 'zod';
import { Snapshot } from '../core/snapshot';
import { TranscriptEntry, TranscriptPage, TRANSCRIPT_LIMITS } from '../core/transcript/schema';
import type { Channel, MethodName } from './channels';

const id = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(512);
const noInput = z.undefined();

export const ThreadRef = z.strictObject({ sectionId: id('sectionId'), alias: id('alias') });

/** A page of a thread's transcript: the newest entries, or those before a seq (docs/desktop.md "Thread view"). */
export const TranscriptRequest = ThreadRef.extend({
  before: z.number({ error: 'before must be a number' }).int().positive().optional(),
  limit: z.number({ error: 'limit must be a number' }).int().min(1).max(TRANSCRIPT_LIMITS.PAGE_MAX).optional(),
});

/** `thread:entries`: what main pushes to a window subscribed to a thread. */
export const ThreadEntriesPush = z.object({
  sectionId: z.string(),
  alias: z.string(),
  entries: z.array(TranscriptEntry),
});
export type ThreadEntriesPush = z.output<typeof ThreadEntriesPush>;
export const SectionRef = z.strictObject({ sectionId: id('sectionId') });

export const UserIdentity = z.object({
  user_id: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
});

export const LoginInput = z.strictObject({
  apiUrl: z.url({ protocol: /^https?$/, error: 'apiUrl must be an http(s) URL' }),
  apiKey: z.string({ error: 'apiKey must be a string' }).trim().min(1, 'apiKey must not be empty').max(4096),
  confirmIdentityChange: z.boolean().optional(),
});

/** The host's LoginResult, re-declared as a schema: it carries identities and codes, never the key. */
export const LoginResult = z.union([
  z.object({ ok: z.literal(true), identity: UserIdentity, identityChanged: z.boolean() }),
  z.object({
    ok: z.literal(false),
    code: z.literal('USER_IDENTITY_MISMATCH'),
    recorded: UserIdentity,
    server: UserIdentity,
  }),
  z.object({
    ok: z.literal(false),
    code: z.enum(['AUTH_INVALID', 'API_NETWORK_ERROR', 'INSECURE_CREDENTIALS_PERMISSIONS', 'USAGE']),
    message: z.string(),
  }),
]);
export type LoginResult = z.output<typeof LoginResult>;

const optText = z.string().max(4096).nullable().optional();
export const HandoffPatch = z
  .strictObject({
    work_folder: optText,
    agent_type: optText,
    executable: optText,
    model: optText,
    effort: optText,
    permissions: optText,
    state: z.enum(['pending', 'active', 'completed', 'failed']).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'patch must change at least one field');
export type HandoffPatch = z.output<typeof HandoffPatch>;

const answerText = z.string().max(100_000);
export const PromptAnswer = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('approval'),
    decision: z.enum(['allow', 'deny']),
    message: answerText.optional(),
    // Protocol §9.2a: "Allow for this session"; the core settles the rules from the prompt itself.
    scope: z.enum(['once', 'session']).optional(),
  }),
  z.strictObject({ kind: z.literal('ask_user_question'), answers: z.record(z.string().min(1), answerText) }),
  // A text prompt waits for words: a blank answer is refused here too, not only by the prompt window.
  z.strictObject({ kind: z.literal('text'), text: answerText.regex(/\S/, 'text must not be empty') }),
]);
export type PromptAnswer = z.output<typeof PromptAnswer>;

/** Which window to open: the same renderer bundle routed by `location.hash`. */
export const WindowRequest = z.discriminatedUnion('view', [
  z.strictObject({ view: z.literal('dashboard') }),
  z.strictObject({ view: z.literal('login') }),
  z.strictObject({ view: z.literal('prompt'), promptId: id('promptId') }),
  /** The dashboard window, showing this thread's live transcript. */
  z.strictObject({ view: z.literal('thread'), sectionId: id('sectionId'), alias: id('alias') }),
]);
export type WindowRequest = z.output<typeof WindowRequest>;

export const AppSettings = z.object({
  platform: z.enum(['darwin', 'linux', 'win32', 'other']),
  startAtLogin: z.boolean(),
  version: z.string(),
  /** Notify when a thread's turn ends (off by default). */
  notifyTurnFinished: z.boolean(),
});
export type AppSettings = z.output<typeof AppSettings>;

const done = z.null();

export const contract = {
  'snapshot:get': { input: noInput, output: Snapshot },
  'auth:login': { input: LoginInput, output: LoginResult },
  'auth:signOut': { input: noInput, output: done },
  'thread:reset': { input: ThreadRef, output: done },
  'thread:openFolder': { input: ThreadRef, output: done },
  /** Stops the thread's running turn (WorkerHost.interruptTurn); INVALID_STATE when none runs. */
  'thread:interrupt': { input: ThreadRef, output: done },
  /** Revokes a rule granted for the session (WorkerHost.revokeGrant); effective at the next agent start. */
  'thread:revokeGrant': { input: ThreadRef.extend({ rule: z.string().min(1).max(10_000) }), output: done },
  'thread:openLog': { input: ThreadRef, output: done },
  'thread:transcript': { input: TranscriptRequest, output: TranscriptPage },
  /** Subscribes the calling window to this thread (replacing its previous one) and answers the newest page. */
  'thread:subscribe': { input: ThreadRef, output: TranscriptPage },
  'thread:unsubscribe': { input: noInput, output: done },
  'section:detach': { input: SectionRef, output: done },
  'section:reattach': { input: SectionRef, output: done },
  'handoff:update': { input: ThreadRef.extend({ patch: HandoffPatch }), output: done },
  'prompt:answer': { input: z.strictObject({ promptId: id('promptId'), answer: PromptAnswer }), output: done },
  'config:open': { input: noInput, output: done },
  'config:reload': { input: noInput, output: done },
  'logs:open': { input: noInput, output: done },
  'app:getSettings': { input: noInput, output: AppSettings },
  'app:setStartAtLogin': {
    input: z.strictObject({ enabled: z.boolean({ error: 'enabled must be a boolean' }) }),
    output: AppSettings,
  },
  'app:setNotifyTurnFinished': {
    input: z.strictObject({ enabled: z.boolean({ error: 'enabled must be a boolean' }) }),
    output: AppSettings,
  },
  'app:quit': { input: noInput, output: done },
  'window:open': { input: WindowRequest, output: done },
  /** Closes the calling window (login after success, prompt after answering). */
  'window:close': { input: noInput, output: done },
  /** Starts the local sandbox and switches the app to it (SANDBOX_NOT_AVAILABLE where there is none). */
  'sandbox:start': { input: noInput, output: done },
  /** Stops the sandbox and switches back to the real worker (no-op outside the sandbox). */
  'sandbox:leave': { input: noInput, output: done },
} as const satisfies Record<Channel, { input: z.ZodType; output: z.ZodType }>;

// Both directions: every contract key is a channel (above) and every channel has a contract entry.
type ContractChannel = keyof typeof contract;
const _sameChannels: [Exclude<Channel, ContractChannel>, Exclude<ContractChannel, Channel>] extends [never, never]
  ? true
  : false = true;
void _sameChannels;

export type Input<C extends Channel> = z.input<(typeof contract)[C]['input']>;
export type Output<C extends Channel> = z.output<(typeof contract)[C]['output']>;

/** The error half of the envelope: Electron drops everything but the message from a thrown error. */
export interface IpcError {
  code: string;
  message: string;
  remediation?: string;
}
export type IpcResult<T> = { ok: true; data: T } | { ok: false; error: IpcError };

/** A serialisable "call this channel with this input" (tray items and notifications carry these). */
export type Command = { [C in Channel]: { channel: C; input: Input<C> } }[Channel];

type Method<C extends Channel> = [Input<C>] extends [undefined]
  ? () => Promise<IpcResult<Output<C>>>
  : (input: Input<C>) => Promise<IpcResult<Output<C>>>;

/** `window.workerApi`: one method per channel + the snapshot and thread-entries subscriptions. */
export type WorkerApi = { [C in Channel as MethodName<C>]: Method<C> } & {
  onSnapshot(callback: (snapshot: Snapshot) => void): () => void;
  onThreadEntries(callback: (push: ThreadEntriesPush) => void): () => void;
};

export type { Snapshot };
export type { SnapshotSection, SnapshotThread } from '../core/snapshot';
export type { TranscriptEntry, TranscriptPage, TranscriptStats } from '../core/transcript/schema';
export { Snapshot as SnapshotSchema };
