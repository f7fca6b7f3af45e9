/**
 * The WorkerHost facade: everything a shell (the CLI `start`, the Electron main process, the sandbox demo,
 * the renderer tests) does with a worker goes through this interface. It is implemented by the harness
 * in `main/core/worker.ts`; the desktop only ever talks to this.
 */
import type { PromptAnswer } from './agents/types';
import type { Snapshot } from './snapshot';
import type { UserIdentity } from './api/types';
import type { TranscriptEntry, TranscriptPage, TranscriptPageOptions } from './transcript/schema';

export interface LoginRequest {
  apiUrl: string;
  realtimeUrl?: string | null;
  apiKey: string;
  /** Confirms overwriting a different recorded identity (the `--yes` of `login`). */
  confirmIdentityChange?: boolean;
}

export type LoginResult =
  | { ok: true; identity: UserIdentity; identityChanged: boolean }
  /** The key belongs to another user than the recorded one and the change was not confirmed. */
  | { ok: false; code: 'USER_IDENTITY_MISMATCH'; recorded: UserIdentity; server: UserIdentity }
  | {
      ok: false;
      code: 'AUTH_INVALID' | 'API_NETWORK_ERROR' | 'INSECURE_CREDENTIALS_PERMISSIONS' | 'USAGE';
      message: string;
    };

/** Fields of a thread envelope the handoff editor may change (protocol §14). `null` removes a field. */
export interface HandoffPatch {
  work_folder?: string | null;
  agent_type?: string | null;
  executable?: string | null;
  model?: string | null;
  effort?: string | null;
  permissions?: string | null;
  state?: 'pending' | 'active' | 'completed' | 'failed';
}

export interface WorkerHost {
  readonly stateRoot: string;
  snapshot(): Snapshot;
  /** Called with the full snapshot after every change (coalesced); returns an unsubscribe function. */
  onChange(listener: (snapshot: Snapshot) => void): () => void;

  /** Preflight + run every section. Resolves once preflight finished (successfully or not: see snapshot). */
  start(): Promise<void>;
  /** Graceful stop (same as SIGTERM): turns stopped at a boundary, agents stopped, lock removed. */
  stop(): Promise<void>;
  /** Stop, re-read config.yaml and start again (protocol §14: reload without quitting). */
  reloadConfig(): Promise<void>;

  login(request: LoginRequest): Promise<LoginResult>;
  /** Stops the worker and removes credentials.yaml (identity.yaml stays, for the identity-change guard). */
  signOut(): Promise<void>;

  /** Sets a failed/completed thread's `instance.state` to `pending` (read-modify-write). */
  resetThread(sectionId: string, alias: string): Promise<void>;
  /** Answers an open prompt in-process (protocol §9.3): `answered_via: desktop`. */
  answerPrompt(promptId: string, answer: PromptAnswer): Promise<void>;
  /**
   * Stops the thread's running turn (Claude `interrupt`, Codex `turn/interrupt`); the agent and the thread stay.
   * An open prompt is cancelled with reason `interrupted`; the turn ends with `turn_end {interrupted: true}`.
   * Rejects with NOT_FOUND (no such section/thread) or INVALID_STATE (no turn is running).
   */
  interruptTurn(sectionId: string, alias: string): Promise<void>;
  /**
   * Removes a rule granted "for this session" from thread.yaml `agent.granted` (protocol §9.2a). The running
   * agent keeps it until it is respawned; the next spawn leaves it out. Rejects with NOT_FOUND.
   */
  revokeGrant(sectionId: string, alias: string, rule: string): Promise<void>;
  /** Stops the section's agents and deletes its `worker` object (frees the session). */
  detachSection(sectionId: string): Promise<void>;
  /** Runs the attach algorithm again for a refused/detached section. */
  reattachSection(sectionId: string): Promise<void>;
  /** Edits the thread envelope's handoff fields (read-modify-write; other keys kept). */
  updateHandoff(sectionId: string, alias: string, patch: HandoffPatch): Promise<void>;

  /**
   * A page of one thread's transcript, oldest first (docs/desktop.md "Thread view"): the newest entries, or
   * those before `opts.before` (a seq). From memory while the runner holds them, else from the thread's
   * thread.log (also when the worker is stopped). NOT_FOUND for a section or thread the worker does not know.
   */
  threadTranscript(sectionId: string, alias: string, opts?: TranscriptPageOptions): Promise<TranscriptPage>;
  /**
   * Calls `listener` with the thread's new and changed entries (same seq = replaces) from now on, batched;
   * returns the unsubscribe function. The snapshot never carries transcripts: a view subscribes to one thread.
   */
  subscribeThread(sectionId: string, alias: string, listener: (entries: TranscriptEntry[]) => void): () => void;
}
