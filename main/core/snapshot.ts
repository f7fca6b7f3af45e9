/**
 * The live snapshot of a running worker: the single source that the tray, the dashboard
 * and `blobhub-worker status` render. It is plain, serialisable data (it crosses IPC), described by zod so
 * the IPC layer can validate it and the renderer can trust its shape. It never contains the API key.
 */
import { z } from 'zod';
import { TranscriptStats, zeroStats } from './transcript/schema';

export const WorkerPhase = z.enum(['signed_out', 'preflight_failed', 'starting', 'running', 'stopping', 'stopped']);
export type WorkerPhase = z.output<typeof WorkerPhase>;

export const SnapshotIdentity = z.object({
  user_id: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  api_url: z.string(),
});

export const SnapshotError = z.object({
  code: z.string(),
  message: z.string(),
  remediation: z.string().optional(),
  at: z.string(),
});
export type SnapshotError = z.output<typeof SnapshotError>;

/** `active (turn)` and `active (idle)` are split so the UI can colour them (docs/cli.md). */
export const ThreadDisplayState = z.enum(['pending', 'active_turn', 'active_idle', 'completed', 'failed']);
export type ThreadDisplayState = z.output<typeof ThreadDisplayState>;

export const SnapshotPrompt = z.object({
  id: z.string(),
  section: z.string(),
  session_id: z.string(),
  thread: z.string(),
  kind: z.enum(['approval', 'ask_user_question', 'text', 'plan']),
  created_at: z.string().nullable(),
  /** The `metadata.prompt` payload of protocol §9.1. */
  payload: z.record(z.string(), z.unknown()),
});
export type SnapshotPrompt = z.output<typeof SnapshotPrompt>;

export const SnapshotThread = z.object({
  alias: z.string(),
  state: ThreadDisplayState,
  agent_type: z.string().nullable(),
  agent_session_id: z.string().nullable(),
  work_folder: z.string().nullable(),
  /** Resolved `model · effort · perm`. */
  model: z.string().nullable(),
  effort: z.string().nullable(),
  permissions: z.string().nullable(),
  last_event: z.object({ kind: z.string(), at: z.string() }).nullable(),
  last_error: SnapshotError.nullable(),
  open_prompt_id: z.string().nullable(),
  /** Rules allowed for this thread's agent session (protocol §9.2a); revoking one takes effect at the next spawn. */
  granted_rules: z.array(z.string()),
  /** Local paths the desktop can open. */
  thread_log: z.string(),
  /** Turns, tokens in/cached/out, agent time (main/core/transcript); a snapshot.json of an older worker has none. */
  stats: TranscriptStats.default(zeroStats),
});
export type SnapshotThread = z.output<typeof SnapshotThread>;

export const SnapshotSection = z.object({
  /** Stable key: the job id `session_agent_harness-{session_id}`. */
  id: z.string(),
  name: z.string().nullable(),
  session: z.object({ org_id: z.string(), blob_id: z.string(), revision_id: z.string(), session_id: z.string() }),
  attachment: z.enum(['attaching', 'attached', 'refused', 'detached']),
  error: SnapshotError.nullable(),
  realtime: z.enum(['connected', 'connecting', 'off']),
  threads: z.array(SnapshotThread),
  /** The section's threads' stats summed. */
  stats: TranscriptStats.default(zeroStats),
});
export type SnapshotSection = z.output<typeof SnapshotSection>;

/** The operator's `policy:` in force (README Configuration): what thread envelopes may choose. */
export const SnapshotPolicy = z.object({
  envelope_executable: z.enum(['allow', 'deny']),
  max_permissions: z.enum(['autonomous', 'approval']),
  work_folder_roots: z.array(z.string()),
});
export type SnapshotPolicy = z.output<typeof SnapshotPolicy>;

export const Snapshot = z.object({
  version: z.string(),
  phase: WorkerPhase,
  /** Set when phase is `preflight_failed` (or signed out): what happened and what to do. */
  preflight_error: SnapshotError.nullable(),
  instance_id: z.string().nullable(),
  identity: SnapshotIdentity.nullable(),
  state_root: z.string(),
  agents: z.object({ busy: z.number().int().nonnegative(), max: z.number().int().positive() }),
  sections: z.array(SnapshotSection),
  prompts: z.array(SnapshotPrompt),
  /** The ribbon of recent transient errors (newest last, bounded). */
  recent_errors: z.array(SnapshotError.extend({ section: z.string().nullable(), thread: z.string().nullable() })),
  updated_at: z.string(),
  /** The config's policy while a config is loaded; null (or absent, from older shells) before that. */
  policy: SnapshotPolicy.nullable().optional(),
  /** Set by the desktop's sandbox switch (main/sandbox/desktop.ts) on the sandbox's snapshots; absent otherwise. */
  sandbox: z.boolean().optional(),
});
export type Snapshot = z.output<typeof Snapshot>;

export function emptySnapshot(stateRoot: string, version: string, maxAgents = 4): Snapshot {
  return {
    version,
    phase: 'stopped',
    preflight_error: null,
    instance_id: null,
    identity: null,
    state_root: stateRoot,
    agents: { busy: 0, max: maxAgents },
    sections: [],
    prompts: [],
    recent_errors: [],
    updated_at: new Date().toISOString(),
  };
}
