/**
 * The local sandbox (docs/sandbox.md): the embedded emulator on 127.0.0.1, a worker user and a "demo human",
 * a demo session with two threads, a scripted demo agent (the agent simulator, see launcher.ts), and a worker
 * (`createWorkerHost`) on the sandbox's own state root — so a new user sees every flow without an account:
 * handoff, live items, an approval and a two-question prompt, a human reply reaching the agent, a failure and
 * its one-click reset. The desktop switches its host to `sandbox.host`; `npm run demo` runs it headless.
 *
 * The sandbox writes only inside its state root (a temp folder by default; the desktop uses
 * `<state root>/sandbox`), which it removes on `stop()`. The user's real credentials are never read.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WorkerError, toWorkerError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { createWorkerHost, type LocalWorkerHost } from '../core/worker';
import { jobIdFor } from '../core/state/paths';
import { toYaml, writeFileAtomic } from '../core/state/yaml-file';
import type { PromptAnswer } from '../core/agents/types';
import type { Snapshot, SnapshotPrompt } from '../core/snapshot';
import { settleWithin } from '../core/util/timeout';
import { startEmulator, type Emulator, type SessionEvent, type SessionTuple, type ThreadItem } from '../emulator/index';
import { checkLauncherPlatform, writeLauncher } from './launcher';
import { DEMO_FILES, DOCS_THREAD, LOGIN_THREAD, demoScenario } from './scenario';

/** Marks a folder as a sandbox state root: only such a folder (or an empty one) is ever wiped. */
export const SANDBOX_MARKER = '.blobhub-sandbox';
const STOP_BOUND_MS = 20_000;
const HISTORY_MAX = 1_000;

export interface SandboxOptions {
  /** The sandbox's own state root; default a fresh temp folder. Wiped at start and removed by `stop()`. */
  stateRoot?: string;
  /** Folder of the agent simulator's .mjs files (dist/agent-sim, or main/sandbox/agent-sim from source). */
  agentSimDir: string;
  /** Runs the simulator; default `process.execPath` (node, or Electron as node). */
  execPath?: string;
  logger?: Logger;
  /**
   * Play the desktop user too: answer prompts in-process (`answered_via: desktop`) and reset the failed thread,
   * as a user would from the dashboard. `npm run demo` sets it; the app leaves both to the user.
   */
  autopilot?: boolean;
  /** Multiplies every scripted delay (1 = the demo's pace; tests may go faster). */
  pace?: number;
  /** Test seam: the platform the launcher is written for. */
  platform?: NodeJS.Platform;
}

/** What the sandbox saw happen, in order; `npm run demo` prints these. */
export type SandboxActivity =
  | {
      type: 'item';
      at: number;
      alias: string;
      by: 'worker' | 'human';
      kind: string;
      brief: string;
      metadata: Record<string, unknown>;
    }
  | { type: 'state'; at: number; alias: string; state: string }
  | { type: 'note'; at: number; alias: string | null; text: string }
  | { type: 'answered'; at: number; alias: string; promptKind: string; answer: PromptAnswer };

export interface Sandbox {
  readonly host: LocalWorkerHost;
  readonly stateRoot: string;
  readonly apiUrl: string;
  readonly session: SessionTuple;
  /** The section id the desktop uses for the demo session's threads. */
  readonly sectionId: string;
  readonly threads: { login: string; docs: string };
  onActivity(listener: (activity: SandboxActivity) => void): () => void;
  /** Stops the worker and the scripted actors, closes the emulator, removes the state root. Idempotent. */
  stop(): Promise<void>;
}

/** Prepares the state root: only an absent, empty, or earlier sandbox folder is accepted. */
async function prepareRoot(stateRoot: string | undefined): Promise<string> {
  const root = stateRoot ?? (await mkdtemp(join(tmpdir(), 'blobhub-sandbox-')));
  if (existsSync(root)) {
    const entries = readdirSync(root);
    if (entries.length > 0 && !entries.includes(SANDBOX_MARKER)) {
      throw new WorkerError(
        'SANDBOX_START_FAILED',
        `${root} exists and is not a sandbox folder; the sandbox will not touch it.`,
      );
    }
    await rm(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  }
  await mkdir(root, { recursive: true, mode: 0o700 });
  await writeFile(join(root, SANDBOX_MARKER), 'A BlobHub Worker sandbox: removed when the sandbox stops.\n');
  return root;
}

async function writeTree(base: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    const path = join(base, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
}

function itemKind(item: ThreadItem): string {
  const type = item.metadata?.type;
  return typeof type === 'string' ? type : 'message';
}

function itemBrief(item: ThreadItem): string {
  const block = item.content.find((b) => b.type === 'text');
  return typeof block?.text === 'string' ? block.text : '';
}

/** The answer the scripted desktop user gives: allow; for questions, the first option (all of them for multi-select). */
export function autopilotAnswer(prompt: SnapshotPrompt): PromptAnswer {
  if (prompt.kind === 'approval') return { kind: 'approval', decision: 'allow' };
  if (prompt.kind === 'text') return { kind: 'text', text: 'Go ahead.' };
  const questions = Array.isArray(prompt.payload.questions)
    ? (prompt.payload.questions as Array<Record<string, unknown>>)
    : [];
  const answers: Record<string, string> = {};
  for (const q of questions) {
    const labels = (Array.isArray(q.options) ? (q.options as Array<{ label?: unknown }>) : [])
      .map((o) => (typeof o.label === 'string' ? o.label : ''))
      .filter(Boolean);
    if (typeof q.question !== 'string' || labels.length === 0) continue;
    answers[q.question] = q.multi_select === true ? labels.slice(0, 2).join(', ') : labels[0];
  }
  return { kind: 'ask_user_question', answers };
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const logger = options.logger ?? silentLogger;
  const pace = options.pace ?? 1;
  const ms = (n: number) => Math.round(n * pace);
  checkLauncherPlatform(options.platform);
  const root = await prepareRoot(options.stateRoot);
  let emu: Emulator | null = null;
  let host: LocalWorkerHost | null = null;
  try {
    emu = await startEmulator({ logger: logger.child({ component: 'sandbox.emulator' }) });
    const { control } = emu;
    const worker = control.createUser({ name: 'Sandbox Worker', email: 'worker@sandbox.localhost' });
    const human = control.createUser({ name: 'Demo Human', email: 'human@sandbox.localhost' });
    const session = control.createSession({ members: [worker.user_id, human.user_id] });

    // The demo agent: scenario + simulator state + launcher, all inside the root.
    const agentDir = join(root, 'demo-agent');
    await mkdir(agentDir, { recursive: true, mode: 0o700 });
    const scenarioFile = join(agentDir, 'scenario.json');
    await writeFile(scenarioFile, JSON.stringify(demoScenario(pace), null, 2));
    const executable = await writeLauncher(
      {
        path: join(agentDir, 'claude'),
        agentSimDir: options.agentSimDir,
        execPath: options.execPath ?? process.execPath,
        scenarioFile,
        stateDir: join(agentDir, 'state'),
      },
      options.platform,
    );

    // Work folders: the login thread's exists; the docs thread's is created only after its failure.
    const workDir = join(root, 'work');
    const loginFolder = join(workDir, LOGIN_THREAD.folder);
    const docsFolder = join(workDir, DOCS_THREAD.folder);
    await writeTree(loginFolder, DEMO_FILES[LOGIN_THREAD.folder]);

    // Credentials through the normal login path, then the sandbox's own config.yaml (replacing the starter).
    host = createWorkerHost({
      home: root,
      logger: logger.child({ component: 'sandbox.worker' }),
      // The demo agent exits at stdin EOF at once: short stop bounds keep "Leave sandbox" and the demo quick.
      timing: { stopGraceMs: 2_000, stopKillMs: 1_000, shutdownTurnWaitMs: 1_500, shutdownDrainMs: 2_000 },
    });
    const login = await host.login({ apiUrl: emu.apiUrl, realtimeUrl: emu.realtimeUrl, apiKey: worker.api_key });
    if (!login.ok)
      throw new WorkerError('SANDBOX_START_FAILED', `The sandbox could not sign in to its emulator (${login.code}).`);
    await writeFileAtomic(
      join(root, 'config.yaml'),
      toYaml({
        polling: { interval_idle_ms: 500, interval_active_ms: 500, backoff_max_ms: 2_000 },
        concurrency: { max_agents: 2 },
        agents: { claude_code: { executable, permissions: 'approval' } },
        sections: [{ name: 'Sandbox demo', job_type: 'session_agent_harness', session }],
      }),
      { mode: 0o600 },
    );

    // ----------------------------------------------------------------- activity feed + scripted actors
    const started = Date.now();
    const listeners = new Set<(a: SandboxActivity) => void>();
    // Kept so a listener that subscribes after start (the demo's printer) still sees the seeding and the attach.
    const history: SandboxActivity[] = [];
    const emit = (a: SandboxActivity) => {
      history.push(a);
      if (history.length > HISTORY_MAX) history.splice(0, history.length - HISTORY_MAX);
      for (const l of listeners) {
        try {
          l(a);
        } catch {
          // A listener's trouble is its own.
        }
      }
    };
    const at = () => Date.now() - started;
    const timers = new Set<NodeJS.Timeout>();
    let stopping = false;
    const later = (delay: number, fn: () => void | Promise<void>) => {
      if (stopping) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (stopping) return;
        Promise.resolve()
          .then(fn)
          .catch((e: unknown) => {
            const err = toWorkerError(e);
            logger.warn('sandbox.script_failed', err.message, { code: err.code });
            emit({ type: 'note', at: at(), alias: null, text: `scripted step failed: ${err.code} ${err.message}` });
          });
      }, ms(delay));
      timers.add(timer);
    };

    const states = new Map<string, string>();
    let loginTurns = 0;
    let replied = false;
    let docsRepaired = false;
    const sectionId = jobIdFor(session.session_id);
    const liveHost = host;
    const unsubscribeEvents = emu.onEvent((event: SessionEvent) => {
      if (stopping || event.session_id !== session.session_id) return;
      const alias = event.alias ?? event.session_object?.alias;
      if (!alias) return;
      if (event.type === 'session_thread_item_posted' && event.item_id) {
        const item = control.listItems(session, alias).findLast((i) => i.id === event.item_id);
        if (!item) return;
        const kind = itemKind(item);
        emit({
          type: 'item',
          at: at(),
          alias,
          by: item.user_id === worker.user_id ? 'worker' : 'human',
          kind,
          brief: itemBrief(item),
          metadata: item.metadata ?? {},
        });
        // (c) After the agent's first turn on the login thread, the demo human answers in the thread.
        if (alias === LOGIN_THREAD.alias && kind === 'turn_end' && ++loginTurns === 1 && !replied) {
          replied = true;
          later(1_200, () => {
            control.postItem(human.user_id, session, LOGIN_THREAD.alias, [{ type: 'text', text: LOGIN_THREAD.reply }]);
          });
        }
      } else if (event.type === 'session_object_modified') {
        const env = control.getObject(session, alias);
        const state = (env?.value as { thread?: { metadata?: { instance?: { state?: unknown } } } } | undefined)?.thread
          ?.metadata?.instance?.state;
        if (typeof state !== 'string' || states.get(alias) === state) return;
        states.set(alias, state);
        emit({ type: 'state', at: at(), alias, state });
        // (b) The docs thread failed because its folder is missing: create it, so "Reset to pending" works.
        if (alias === DOCS_THREAD.alias && state === 'failed' && !docsRepaired) {
          docsRepaired = true;
          later(600, async () => {
            await writeTree(docsFolder, DEMO_FILES[DOCS_THREAD.folder]);
            emit({ type: 'note', at: at(), alias, text: `created the missing work folder ${docsFolder}` });
            if (options.autopilot) {
              later(800, async () => {
                await liveHost.resetThread(sectionId, DOCS_THREAD.alias);
                emit({ type: 'note', at: at(), alias, text: 'Reset to pending (one click, as from the desktop)' });
              });
            }
          });
        }
      }
    });

    // The demo threads exist as plain chats with the human's opening message; handoffs come once the worker runs.
    const thread = (name: string, metadata: Record<string, unknown>) => ({
      type: 'thread',
      thread: { attributes: { name }, metadata },
    });
    const handoff = (folder: string) => ({
      workspace: { work_folder: folder },
      agent: { type: 'claude_code' },
      instance: { state: 'pending' },
    });
    for (const t of [LOGIN_THREAD, DOCS_THREAD]) {
      control.uploadObject(human.user_id, session, t.alias, thread(t.name, {}));
      control.postItem(human.user_id, session, t.alias, [{ type: 'text', text: t.opening }]);
    }

    // The scripted desktop user (autopilot): answers each new prompt in-process, like the prompt window does.
    const answered = new Set<string>();
    const unsubscribeHost = options.autopilot
      ? host.onChange((snap: Snapshot) => {
          for (const prompt of snap.prompts) {
            if (answered.has(prompt.id)) continue;
            answered.add(prompt.id);
            later(900, async () => {
              const answer = autopilotAnswer(prompt);
              await liveHost.answerPrompt(prompt.id, answer);
              emit({ type: 'answered', at: at(), alias: prompt.thread, promptKind: prompt.kind, answer });
            });
          }
        })
      : () => undefined;

    await host.start();
    const snap = host.snapshot();
    if (snap.phase !== 'running') {
      const e = snap.preflight_error;
      throw new WorkerError(
        'SANDBOX_START_FAILED',
        `The sandbox worker did not start${e ? ` (${e.code}: ${e.message})` : ''}.`,
      );
    }

    // (a) and (b): the demo human hands both threads off, a moment apart, so the dashboard shows it live.
    later(700, () => {
      control.uploadObject(human.user_id, session, LOGIN_THREAD.alias, thread(LOGIN_THREAD.name, handoff(loginFolder)));
    });
    later(2_200, () => {
      control.uploadObject(human.user_id, session, DOCS_THREAD.alias, thread(DOCS_THREAD.name, handoff(docsFolder)));
    });

    const emulator = emu;
    let stopped: Promise<void> | null = null;
    return {
      host,
      stateRoot: root,
      apiUrl: emu.apiUrl,
      session,
      sectionId,
      threads: { login: LOGIN_THREAD.alias, docs: DOCS_THREAD.alias },
      onActivity(listener) {
        for (const a of history) listener(a);
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      stop() {
        stopped ??= (async () => {
          stopping = true;
          for (const t of timers) clearTimeout(t);
          timers.clear();
          unsubscribeEvents();
          unsubscribeHost();
          listeners.clear();
          if (!(await settleWithin(liveHost.stop(), STOP_BOUND_MS))) {
            logger.warn(
              'sandbox.stop_slow',
              `the sandbox worker did not stop within ${STOP_BOUND_MS} ms; removing the sandbox anyway`,
            );
          }
          await emulator.close().catch(() => undefined);
          await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
        })();
        return stopped;
      },
    };
  } catch (e) {
    await host?.stop().catch(() => undefined);
    await emu?.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => undefined);
    const err = toWorkerError(e, 'SANDBOX_START_FAILED');
    throw err;
  }
}
