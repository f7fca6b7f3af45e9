/** Snapshot builders for the desktop's pure-module tests; every result is checked against the real schema. */
import { zeroStats } from '../../main/core/transcript/schema';
import {
  Snapshot,
  emptySnapshot,
  type SnapshotPrompt,
  type SnapshotSection,
  type SnapshotThread,
} from '../../main/core/snapshot';

export function thread(alias: string, over: Partial<SnapshotThread> = {}): SnapshotThread {
  return {
    alias,
    state: 'pending',
    agent_type: 'claude_code',
    agent_session_id: null,
    work_folder: '/tmp/work',
    model: null,
    effort: null,
    permissions: 'approval',
    last_event: null,
    last_error: null,
    open_prompt_id: null,
    granted_rules: [],
    thread_log: `/tmp/state/jobs/x/threads/${alias}/logs/thread.log`,
    stats: zeroStats(),
    ...over,
  };
}

export function failedThread(alias: string, at = '2026-11-21T08:00:00.000Z', code = 'AGENT_CRASHED'): SnapshotThread {
  return thread(alias, {
    state: 'failed',
    last_error: { code, message: 'agent exited with code 1', remediation: 'Inspect thread.log', at },
  });
}

export function section(
  id: string,
  threads: SnapshotThread[] = [],
  over: Partial<SnapshotSection> = {},
): SnapshotSection {
  return {
    id: `session_agent_harness-${id}`,
    name: id,
    session: { org_id: 'org_1', blob_id: 'blb_1', revision_id: 'rev_1', session_id: id },
    attachment: 'attached',
    error: null,
    realtime: 'connected',
    threads,
    stats: zeroStats(),
    ...over,
  };
}

export function prompt(id: string, over: Partial<SnapshotPrompt> = {}): SnapshotPrompt {
  return {
    id,
    section: 'session_agent_harness-ses_1',
    session_id: 'ses_1',
    thread: 'main',
    kind: 'approval',
    created_at: null,
    payload: { id, kind: 'approval', tool: { name: 'Bash', invocation_id: 'tu_1', input: { command: 'ls' } } },
    ...over,
  };
}

export function snap(over: Partial<Snapshot> = {}): Snapshot {
  const base: Snapshot = {
    ...emptySnapshot('/tmp/state', '0.1.0', 4),
    phase: 'running',
    instance_id: 'ins_1',
    identity: { user_id: 'usr_1', name: 'Worker Bot', email: 'bot@example.com', api_url: 'https://api.blobhub.io/v1' },
  };
  return Snapshot.parse({ ...base, ...over });
}
