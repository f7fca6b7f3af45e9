/**
 * Harness test rig: a real emulator on 127.0.0.1, a worker user and a human user, a logged-in temp state root,
 * the fake agents as child processes (scenario / record / state files per rig), and helpers to hand off threads,
 * post as the human and read what landed on the server and on disk.
 */
import { mkdir, readFile, writeFile, chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { startEmulator, type Emulator } from '../../main/emulator/index';
import type { SessionTuple } from '../../main/core/state/schemas';
import { SectionFile, ThreadFile } from '../../main/core/state/schemas';
import { createWorkerHost, type WorkerHostOptions } from '../../main/core/worker';
import type { WorkerHost } from '../../main/core/host';
import type { Snapshot } from '../../main/core/snapshot';
import { StatePaths } from '../../main/core/state/paths';
import { FAKES, tempDir, waitFor } from '../support/process';

export const FAKE_CLAUDE = join(FAKES, 'claude');
export const FAKE_CODEX = join(FAKES, 'codex');

/** Fast timings so the suite stays quick; stop grace is short because the fakes exit on stdin EOF. */
export const FAST_TIMING = {
  heartbeatMs: 60_000,
  realtimeReconcileMs: 60_000,
  stopGraceMs: 2_000,
  stopKillMs: 1_000,
  shutdownTurnWaitMs: 1_500,
  shutdownDrainMs: 2_000,
};

export interface RigOptions {
  realtime?: boolean;
  /** Extra sections beyond the first (each a fresh session unless given). */
  sections?: number;
  maxAgents?: number;
  permissions?: 'approval' | 'autonomous';
  scenario?: unknown;
  pageSize?: number;
  idleMs?: number;
  activeMs?: number;
}

export interface Rig {
  emu: Emulator;
  home: string;
  paths: StatePaths;
  worker: { user_id: string; api_key: string };
  human: { user_id: string; api_key: string };
  sessions: SessionTuple[];
  ref: SessionTuple;
  workFolder: string;
  env: NodeJS.ProcessEnv;
  recordFile: string;
  scenarioFile: string;
  configText: string;
  setScenario(scenario: unknown): Promise<void>;
  host(options?: Partial<WorkerHostOptions>): WorkerHost;
  handoff(alias: string, metadata?: Record<string, unknown>, ref?: SessionTuple): void;
  /** A plain chat thread (no handoff fields yet). */
  chat(alias: string, ref?: SessionTuple): void;
  setState(alias: string, state: string, ref?: SessionTuple): void;
  say(alias: string, text: string, ref?: SessionTuple): string;
  items(
    alias: string,
    ref?: SessionTuple,
  ): Array<{
    id: string;
    user_id?: string | null;
    content: Array<{ type: string; text?: string }>;
    metadata?: Record<string, unknown> | null;
  }>;
  kinds(alias: string, ref?: SessionTuple): string[];
  envelopeState(alias: string, ref?: SessionTuple): unknown;
  threadYaml(alias: string, ref?: SessionTuple): Promise<ThreadFile | null>;
  sectionYaml(ref?: SessionTuple): Promise<SectionFile | null>;
  records(): Promise<Array<Record<string, unknown>>>;
  /** Every text the fake agent received as a user turn, in order. */
  turnsReceived(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function makeRig(
  t: { after(fn: () => Promise<void> | void): void },
  options: RigOptions = {},
): Promise<Rig> {
  const emu = await startEmulator({ pageSize: options.pageSize ?? 50 });
  const tmp = await tempDir('bhw-harness-');
  const home = join(tmp.path, 'home');
  const workFolder = join(tmp.path, 'repo');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await mkdir(workFolder, { recursive: true });
  const worker = emu.control.createUser({ name: 'Worker', email: 'worker@example.test' });
  const human = emu.control.createUser({ name: 'Human', email: 'human@example.test' });
  const sessions: SessionTuple[] = [];
  for (let i = 0; i < 1 + (options.sections ?? 0); i++) {
    sessions.push(emu.control.createSession({ members: [worker.user_id, human.user_id] }));
  }
  const ref = sessions[0];
  const recordFile = join(tmp.path, 'record.jsonl');
  const scenarioFile = join(tmp.path, 'scenario.json');
  await writeFile(scenarioFile, JSON.stringify(options.scenario ?? {}));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FAKE_AGENT_SCENARIO: scenarioFile,
    FAKE_AGENT_RECORD: recordFile,
    FAKE_AGENT_STATE_DIR: join(tmp.path, 'agent-state'),
  };

  // What `login` writes (credentials 0600, identity), plus a config with fast polling and the fake agents.
  const credentials = {
    api: { key: worker.api_key, url: emu.apiUrl, ...(options.realtime ? { realtime_url: emu.realtimeUrl } : {}) },
  };
  await writeFile(join(home, 'credentials.yaml'), YAML.stringify(credentials), { mode: 0o600 });
  await chmod(join(home, 'credentials.yaml'), 0o600);
  await writeFile(
    join(home, 'identity.yaml'),
    YAML.stringify({
      user: {
        user_id: worker.user_id,
        name: 'Worker',
        email: 'worker@example.test',
        recorded_at: new Date().toISOString(),
      },
    }),
  );
  const config = {
    polling: {
      interval_idle_ms: options.idleMs ?? 150,
      interval_active_ms: options.activeMs ?? 150,
      backoff_max_ms: 1000,
    },
    concurrency: { max_agents: options.maxAgents ?? 4 },
    agents: {
      claude_code: { executable: FAKE_CLAUDE, permissions: options.permissions ?? 'approval' },
      codex: { executable: FAKE_CODEX, permissions: options.permissions ?? 'approval' },
    },
    sections: sessions.map((s, i) => ({ name: `s${i}`, job_type: 'session_agent_harness', session: s })),
  };
  const configText = YAML.stringify(config);
  await writeFile(join(home, 'config.yaml'), configText);

  const hosts: WorkerHost[] = [];
  const paths = new StatePaths(home);
  const rig: Rig = {
    emu,
    home,
    paths,
    worker,
    human,
    sessions,
    ref,
    workFolder,
    env,
    recordFile,
    scenarioFile,
    configText,
    async setScenario(scenario) {
      await writeFile(scenarioFile, JSON.stringify(scenario));
    },
    host(extra = {}) {
      const h = createWorkerHost({ home, env, timing: FAST_TIMING, ...extra });
      hosts.push(h);
      return h;
    },
    handoff(alias, metadata = {}, r = ref) {
      emu.control.uploadObject(human.user_id, r, alias, {
        type: 'thread',
        thread: {
          attributes: { name: alias },
          metadata: {
            workspace: { work_folder: workFolder },
            agent: { type: 'claude_code' },
            instance: { state: 'pending' },
            ...metadata,
          },
        },
      });
    },
    chat(alias, r = ref) {
      emu.control.uploadObject(human.user_id, r, alias, {
        type: 'thread',
        thread: { attributes: { name: alias }, metadata: {} },
      });
    },
    setState(alias, state, r = ref) {
      const env = emu.control.getObject(r, alias);
      if (!env) throw new Error(`no envelope ${alias}`);
      const value = structuredClone(env.value) as unknown as { thread: { metadata: Record<string, unknown> } };
      value.thread.metadata.instance = { ...(value.thread.metadata.instance as object), state };
      emu.control.uploadObject(human.user_id, r, alias, value as never);
    },
    say(alias, text, r = ref) {
      return emu.control.postItem(human.user_id, r, alias, [{ type: 'text', text }]).id;
    },
    items(alias, r = ref) {
      return emu.control.listItems(r, alias);
    },
    kinds(alias, r = ref) {
      return emu.control.listItems(r, alias).map((i) => {
        const type = i.metadata?.type;
        return typeof type === 'string' ? type : 'human';
      });
    },
    envelopeState(alias, r = ref) {
      const env = emu.control.getObject(r, alias);
      return (env?.value as { thread?: { metadata?: { instance?: { state?: unknown } } } } | undefined)?.thread
        ?.metadata?.instance?.state;
    },
    async threadYaml(alias, r = ref) {
      try {
        return ThreadFile.parse(YAML.parse(await readFile(paths.job(r.session_id).threadYaml(alias), 'utf8')));
      } catch {
        return null;
      }
    },
    async sectionYaml(r = ref) {
      try {
        return SectionFile.parse(YAML.parse(await readFile(paths.job(r.session_id).sectionYaml, 'utf8')));
      } catch {
        return null;
      }
    },
    async records() {
      try {
        return (await readFile(recordFile, 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      } catch {
        return [];
      }
    },
    async turnsReceived() {
      const out: string[] = [];
      for (const r of await rig.records()) {
        if (r.kind !== 'stdin' || typeof r.line !== 'string') continue;
        const msg = JSON.parse(r.line) as { type?: string; message?: { content?: unknown } };
        if (msg.type !== 'user') continue;
        const c = msg.message?.content;
        out.push(
          typeof c === 'string' ? c : Array.isArray(c) ? c.map((b: { text?: string }) => b.text ?? '').join('\n') : '',
        );
      }
      return out;
    },
    async cleanup() {
      await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
      await emu.close();
      // A log line landing during removal must not fail the test.
      await rm(tmp.path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
  t.after(() => rig.cleanup());
  return rig;
}

/** Waits until the host's snapshot satisfies `pred`. */
export function waitSnapshot(
  host: WorkerHost,
  pred: (s: Snapshot) => unknown,
  what: string,
  timeoutMs = 10_000,
): Promise<unknown> {
  return waitFor(() => pred(host.snapshot()), what, { timeoutMs });
}

export function threadOf(
  s: Snapshot,
  alias: string,
  section = 0,
): Snapshot['sections'][number]['threads'][number] | undefined {
  return s.sections[section]?.threads.find((t) => t.alias === alias);
}

/** Texts of the agent's `text` items in a thread. */
export function agentTexts(rig: Rig, alias: string, ref?: SessionTuple): string[] {
  return rig
    .items(alias, ref)
    .filter((i) => i.metadata?.type === 'text')
    .map((i) => i.content[0]?.text ?? '');
}

export { waitFor };
