/** The valid files every fuzz target mutates (also used by fuzz-cli.test.ts for thread/section/instance). */
import YAML from 'yaml';
import { blankThreadFile } from '../../main/core/harness/local-state';
import { toYaml } from '../../main/core/state/yaml-file';

export const SESSION = { org_id: 'org_1', blob_id: 'blb_1', revision_id: 'rev_1', session_id: 'ses_1' };

export const BASES = {
  config: YAML.stringify({
    polling: { interval_idle_ms: 1500, interval_active_ms: 3000, backoff_max_ms: 30000 },
    concurrency: { max_agents: 4 },
    agents: {
      claude_code: { executable: 'claude', permissions: 'approval' },
      codex: { executable: 'codex', model: 'o3', permissions: 'autonomous' },
    },
    sections: [
      { name: 'main', job_type: 'session_agent_harness', session: SESSION },
      { name: 'other', job_type: 'session_agent_harness', session: { ...SESSION, session_id: 'ses_2' } },
    ],
  }),
  credentials: YAML.stringify({
    api: { key: 'bhk_secretsecretsecret', url: 'http://127.0.0.1:9/v1', realtime_url: 'ws://127.0.0.1:9/v1' },
  }),
  identity: YAML.stringify({
    user: { user_id: 'usr_1', name: 'Worker', email: 'w@example.test', recorded_at: '2026-06-06T10:00:00.000Z' },
  }),
  instance: YAML.stringify({
    instance: {
      instance_id: 'ins_1',
      pid: 2147483646,
      host: 'box',
      version: '0.1.0',
      started_at: '2026-06-06T10:00:00Z',
    },
  }),
  thread: toYaml({
    ...blankThreadFile('job', '2026-06-06T10:00:00.000Z'),
    workspace: { work_folder: '/tmp/repo', agent_type: 'claude_code' },
    agent: {
      state: 'active',
      agent_session_id: '9b7c1e4e-0000-4000-8000-000000000001',
      resolved: { executable: '/usr/bin/claude', model: null, effort: null, permissions: 'approval' },
      error: { code: null, message: null, at: null },
    },
    cursors: {
      inbound: { created_at: '2026-06-06T10:00:00.123456+00:00', item_id: 'itm_1' },
      outbound: { last_emission_id: 'em_1', last_item_id: 'itm_2' },
    },
    open_prompt: {
      id: 'pr_1',
      kind: 'approval',
      posted_item_id: 'itm_3',
      created_at: '2026-06-06T10:00:01.000000+00:00',
      payload: { id: 'pr_1', kind: 'approval', tool: { name: 'Bash', invocation_id: 't1', input: { command: 'ls' } } },
    },
  }),
  section: toYaml({
    name: 'main',
    job_type: 'session_agent_harness',
    session: SESSION,
    attachment: { status: 'attached', attached_at: '2026-06-06T10:00:00.000Z', error: { code: null, message: null } },
    events: { last_processed_at: '2026-06-06T10:00:00.000Z' },
  }),
};
