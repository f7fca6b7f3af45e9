/**
 * The pure snapshot view of one thread: what the dashboard, the tray and `status` show, computed from the
 * runner's in-memory phase and its thread.yaml. No I/O.
 */
import { ERROR_CODES, type ErrorCode } from '../errors';
import type { AgentPrompt } from '../agents/types';
import type { SessionRef } from '../api/types';
import type { ThreadFile } from '../state/schemas';
import type { SnapshotPrompt, SnapshotThread } from '../snapshot';
import type { TranscriptStats } from '../transcript/schema';
import type { ResolvedSettings } from './handoff';

/** Where the runner is in the state machine; `idle` = not running (the server state says why). */
export type Phase = 'idle' | 'validating' | 'queued' | 'starting' | 'active' | 'stopping';

export interface OpenPrompt {
  prompt: AgentPrompt;
  /** created_at of the posted pending_prompt item; replies must come after it (§9.2). */
  postedAt: string | null;
}

export interface ThreadViewInput {
  alias: string;
  phase: Phase;
  serverState: string | null;
  turnRunning: boolean;
  openPrompt: OpenPrompt | null;
  settings: ResolvedSettings | null;
  lastEvent: { kind: string; at: string } | null;
  file: ThreadFile;
  threadLogPath: string;
  stats: TranscriptStats;
}

export function threadView(v: ThreadViewInput): SnapshotThread {
  const f = v.file;
  let state: SnapshotThread['state'];
  if (v.phase === 'active') state = v.turnRunning || v.openPrompt ? 'active_turn' : 'active_idle';
  else if (v.phase === 'starting' || v.phase === 'stopping') state = 'active_turn';
  else if (v.phase === 'validating' || v.phase === 'queued') state = 'pending';
  else if (v.serverState === 'pending') state = 'pending';
  else if (f.agent.state === 'active') state = 'active_idle';
  else state = f.agent.state === 'pending' ? 'pending' : f.agent.state;
  const resolved = v.settings
    ? { model: v.settings.model, effort: v.settings.effort, permissions: v.settings.permissions }
    : f.agent.resolved;
  return {
    alias: v.alias,
    state,
    agent_type: v.settings?.agentType ?? f.workspace.agent_type,
    agent_session_id: f.agent.agent_session_id,
    work_folder: v.settings?.workFolder ?? f.workspace.work_folder,
    model: resolved.model,
    effort: resolved.effort,
    permissions: resolved.permissions,
    last_event: v.lastEvent,
    last_error: f.agent.error.code
      ? {
          code: f.agent.error.code,
          message: f.agent.error.message ?? '',
          remediation: codeRemediation(f.agent.error.code),
          at: f.agent.error.at ?? f.updated_at,
        }
      : null,
    open_prompt_id: v.openPrompt?.prompt.id ?? null,
    granted_rules: [...f.agent.granted],
    thread_log: v.threadLogPath, // the same path, without a path.join per view
    stats: v.stats,
  };
}

export function promptView(
  open: OpenPrompt | null,
  where: { sectionId: string; ref: SessionRef; alias: string },
): SnapshotPrompt | null {
  if (!open) return null;
  return {
    id: open.prompt.id,
    section: where.sectionId,
    session_id: where.ref.session_id,
    thread: where.alias,
    kind: open.prompt.kind,
    created_at: open.postedAt,
    payload: { ...open.prompt },
  };
}

function codeRemediation(code: string): string | undefined {
  return code in ERROR_CODES ? ERROR_CODES[code as ErrorCode].remediation : undefined;
}
