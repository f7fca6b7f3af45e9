/**
 * zod schemas for every local file under the state root (protocol §12).
 * Readers are tolerant (unknown keys are dropped); writers produce exactly these shapes.
 */
import { z } from 'zod';

const isoString = z.string().min(1);
const nullableString = z.string().nullable().default(null);

// credentials.yaml — mode 0600, the only place the API key is stored.
export const CredentialsFile = z.object({
  api: z.object({
    key: z.string().min(1),
    url: z.string().url(),
    realtime_url: z.string().url().optional(),
  }),
});
export type CredentialsFile = z.output<typeof CredentialsFile>;

// identity.yaml — written by login.
export const IdentityFile = z.object({
  user: z.object({
    user_id: z.string().min(1),
    name: z.string().nullable().optional(),
    email: z.string().nullable().optional(),
    recorded_at: isoString,
  }),
});
export type IdentityFile = z.output<typeof IdentityFile>;

// instance.yaml — the single-instance lock.
export const InstanceFile = z.object({
  instance: z.object({
    instance_id: z.string().min(1),
    pid: z.number().int().positive(),
    host: z.string(),
    version: z.string(),
    started_at: isoString,
  }),
});
export type InstanceFile = z.output<typeof InstanceFile>;

export const AGENT_TYPES = ['claude_code', 'codex'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];
export const PERMISSION_MODES = ['autonomous', 'approval'] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];
export const THREAD_STATES = ['pending', 'active', 'completed', 'failed'] as const;
export type ThreadState = (typeof THREAD_STATES)[number];

export const SessionTuple = z.object({
  org_id: z.string().min(1),
  blob_id: z.string().min(1),
  revision_id: z.string().min(1),
  session_id: z.string().min(1),
});
export type SessionTuple = z.output<typeof SessionTuple>;

// section.yaml — protocol §12 (+ `detached`, protocol §12).
export const SectionFile = z.object({
  name: z.string().nullable().optional(),
  job_type: z.literal('session_agent_harness'),
  session: SessionTuple,
  attachment: z.object({
    status: z.enum(['attached', 'refused', 'detached']),
    attached_at: z.string().nullable().default(null),
    error: z.object({ code: nullableString, message: nullableString }).default({ code: null, message: null }),
  }),
  events: z.object({ last_processed_at: z.string().nullable().default(null) }).default({ last_processed_at: null }),
});
export type SectionFile = z.output<typeof SectionFile>;

export const ResolvedAgentSettings = z.object({
  executable: z.string().nullable().default(null),
  model: z.string().nullable().default(null),
  effort: z.string().nullable().default(null),
  permissions: z.string().nullable().default(null),
});
export type ResolvedAgentSettings = z.output<typeof ResolvedAgentSettings>;

export const PromptKind = z.enum(['approval', 'ask_user_question', 'text', 'plan']);
export type PromptKind = z.output<typeof PromptKind>;

export const OpenPromptRecord = z.object({
  id: z.string().min(1),
  kind: PromptKind,
  posted_item_id: z.string().nullable().default(null),
  created_at: z.string().nullable().default(null),
  payload: z.record(z.string(), z.unknown()),
});
export type OpenPromptRecord = z.output<typeof OpenPromptRecord>;

// thread.yaml — protocol §12.
export const ThreadFile = z.object({
  alias: z.string().min(1),
  workspace: z.object({
    work_folder: z.string().nullable().default(null),
    agent_type: z.string().nullable().default(null),
  }),
  agent: z.object({
    state: z.enum(THREAD_STATES),
    agent_session_id: z.string().nullable().default(null),
    resolved: ResolvedAgentSettings.default({ executable: null, model: null, effort: null, permissions: null }),
    error: z
      .object({ code: nullableString, message: nullableString, at: nullableString })
      .default({ code: null, message: null, at: null }),
    /**
     * Rules the user allowed for the agent session (protocol §9.2a), re-applied when the agent is respawned
     * where the agent supports it (Claude `--allowedTools`). Old files without the key read as none.
     */
    granted: z.array(z.string().min(1)).default([]),
  }),
  cursors: z
    .object({
      // fetch_since / done_ids: paging safe on equal stamps (docs/harness.md, Inbound); absent in older files.
      inbound: z
        .object({
          created_at: z.string(),
          item_id: z.string(),
          fetch_since: z.string().nullable().optional(),
          done_ids: z.array(z.string()).optional(),
        })
        .nullable()
        .default(null),
      outbound: z
        .object({
          last_emission_id: z.string().nullable().default(null),
          last_item_id: z.string().nullable().default(null),
        })
        .default({ last_emission_id: null, last_item_id: null }),
    })
    .default({ inbound: null, outbound: { last_emission_id: null, last_item_id: null } }),
  open_prompt: OpenPromptRecord.nullable().default(null),
  updated_at: isoString,
});
export type ThreadFile = z.output<typeof ThreadFile>;
