/**
 * The WorkerHost (host.ts) the CLI, the desktop and the sandbox drive: preflight, one SectionRunner per
 * configured section sharing one agent-slot pool, graceful stop, the desktop's commands, and the live
 * Snapshot (pushed to listeners, coalesced, and written to `snapshot.json` for `blobhub-worker status`).
 *
 * Over 400 lines on purpose: every command below finds its section through the one running set that the
 * lifecycle queue (start / stop / reload) replaces; apart, each file would reach into the other's state.
 */
import { startControlServer, type ControlServer } from './control';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../version';
import { WorkerError, isWorkerError, toWorkerError } from './errors';
import { silentLogger, type Logger } from './log';
import { runPreflight, type PreflightResult } from './preflight';
import { login as runLogin } from './login';
import { RealtimeClient } from './api/realtime';
import type { BlobHubApi, SessionRef } from './api/types';
import { createAgentSession, resolveExecutable as defaultResolveExecutable } from './agents/index';
import type { AgentFactory, PromptAnswer } from './agents/types';
import { StatePaths, jobIdFor, resolveStateRoot } from './state/paths';
import { writeFileAtomic } from './state/yaml-file';
import type { WorkerConfig } from './state/config';
import { Snapshot, emptySnapshot, type SnapshotError } from './snapshot';
import type { HandoffPatch, LoginRequest, LoginResult, WorkerHost } from './host';
import { SlotPool } from './harness/slots';
import { SectionRunner } from './harness/section-runner';
import { DEFAULT_SECTION_TIMING, type SectionTiming } from './harness/section-context';
import { DEFAULT_THREAD_TIMING } from './harness/thread-context';
import { patchThreadMetadata } from './harness/envelope';
import { Outbox } from './harness/outbound/outbox';
import type { StateFileWriter } from './harness/local-state';
import { asRecord } from './json';
import { TranscriptHub, threadKey } from './transcript/hub';
import { readTranscriptFile } from './transcript/thread-transcript';
import type { TranscriptEntry, TranscriptPage, TranscriptPageOptions } from './transcript/schema';

export const SNAPSHOT_FILE = 'snapshot.json';
/** How many transient errors the warning ribbon keeps. */
export const RECENT_ERRORS_MAX = 20;
/** Listener notifications are coalesced over this window; snapshot.json is written at most this often. */
const NOTIFY_MS = 25;
const SNAPSHOT_WRITE_MS = 200;

export interface WorkerHostOptions {
  /** State root (`--home`); else env BLOBHUB_WORKER_HOME; else ~/.blobhub-worker. */
  home?: string;
  /** Environment for agents and root resolution (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Test seam: builds agent sessions (defaults to the Claude Code / Codex adapters). */
  agentFactory?: AgentFactory;
  /** Test seam: executable lookup (defaults to PATH / absolute path resolution). */
  resolveExecutable?: (nameOrPath: string, env: NodeJS.ProcessEnv) => string;
  /** Test seam: the clock used for timestamps and FIFO order. */
  clock?: () => Date;
  /** Test seam: shorter heartbeats, stop grace periods and so on. */
  timing?: Partial<SectionTiming>;
  /** Write snapshot.json (default true). */
  writeSnapshotFile?: boolean;
  /** Test seam: writes thread.yaml / section.yaml (default: the atomic YAML writer); injects I/O failures. */
  writeStateFile?: StateFileWriter;
}

type Recent = Snapshot['recent_errors'][number];

/** The WorkerHost plus what only an in-process shell needs (the CLI's last-resort exit hook). */
export interface LocalWorkerHost extends WorkerHost {
  /** Removes instance.yaml synchronously (for `process.on('exit')` after a forced exit). */
  releaseLockSync(): void;
  /** What a running thread's transcript holds in memory (tests and the bench check the bounds); null if none. */
  transcriptHeld(sectionId: string, alias: string): { entries: number; chars: number } | null;
}

/** The in-process LocalWorkerHost: the harness itself, running in this process. */
class InProcessWorkerHost implements LocalWorkerHost {
  readonly stateRoot: string;
  private readonly paths: StatePaths;
  private readonly env: NodeJS.ProcessEnv;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly timing: SectionTiming;
  private phase: Snapshot['phase'] = 'stopped';
  private preflightError: SnapshotError | null = null;
  private control: ControlServer | null = null;
  private pre: PreflightResult | null = null;
  private config: WorkerConfig | null = null;
  private pool: SlotPool | null = null;
  private sections: SectionRunner[] = [];
  /** Transcript subscriptions outlive the runners (reload, re-attach): they are keyed by section id + alias. */
  private readonly transcripts: TranscriptHub;
  private recent: Recent[] = [];
  private listeners = new Set<(s: Snapshot) => void>();
  private notifyTimer: NodeJS.Timeout | null = null;
  private fileTimer: NodeJS.Timeout | null = null;
  private fileWrites: Promise<void> = Promise.resolve();
  /** start/stop/reload run one at a time. */
  private lifecycle: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: WorkerHostOptions) {
    this.env = options.env ?? process.env;
    this.stateRoot = resolveStateRoot(options.home, this.env);
    this.paths = new StatePaths(this.stateRoot);
    this.logger = options.logger ?? silentLogger;
    this.now = options.clock ?? (() => new Date());
    this.timing = { ...DEFAULT_THREAD_TIMING, ...DEFAULT_SECTION_TIMING, ...options.timing };
    this.transcripts = new TranscriptHub((e) =>
      this.logger.warn('transcript_listener_failed', toWorkerError(e).message, { code: toWorkerError(e).code }),
    );
  }

  // ------------------------------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    return this.serial(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.serial(() => this.doStop());
  }

  reloadConfig(): Promise<void> {
    return this.serial(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(fn, fn);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private async doStart(): Promise<void> {
    if (this.phase === 'running' || this.phase === 'starting') return;
    this.setPhase('starting');
    this.preflightError = null;
    let pre: PreflightResult;
    try {
      pre = await runPreflight({
        paths: this.paths,
        logger: this.logger,
        onTransientError: (e) => this.transient(e, null, null),
      });
    } catch (e) {
      const err = toWorkerError(e);
      this.preflightError = {
        code: err.code,
        message: err.message,
        remediation: err.remediation,
        at: this.now().toISOString(),
      };
      const signedOut = err.code === 'CREDENTIALS_NOT_FOUND' || err.code === 'IDENTITY_NOT_FOUND';
      // Not logged here: the shell reports it (the CLI prints exactly one JSON line, protocol §2).
      this.setPhase(signedOut ? 'signed_out' : 'preflight_failed');
      return;
    }
    this.pre = pre;
    this.config = pre.config;
    if (this.pool) this.pool.resize(pre.config.concurrency.max_agents);
    else {
      this.pool = new SlotPool(pre.config.concurrency.max_agents);
      this.pool.onChange(() => this.changed());
    }
    const startedAt = this.now().toISOString();
    this.sections = pre.config.sections.map(
      (section) =>
        new SectionRunner({
          section,
          paths: this.paths,
          api: pre.client,
          userId: pre.identity.user_id,
          instance: { instanceId: pre.lock.instanceId, version: VERSION, startedAt },
          config: () => this.config!,
          pool: this.pool!,
          logger: this.logger,
          env: this.env,
          agentFactory: this.options.agentFactory ?? createAgentSession,
          resolveExecutable: this.options.resolveExecutable ?? defaultResolveExecutable,
          openOutbox: (req) =>
            Outbox.open({
              api: pre.client,
              ref: req.ref,
              alias: req.alias,
              journalPath: req.journalPath,
              logger: req.logger,
              onFatal: req.onFatal,
              threadLog: req.threadLog,
              onPosted: req.onPosted,
              postDeadlineMs: req.postDeadlineMs,
              backoffMaxMs: pre.config.polling.backoff_max_ms,
              onTransientError: (e) => this.transient(e, null, req.alias),
            }),
          openFeed: pre.realtimeUrl
            ? (h) =>
                new RealtimeClient({
                  url: pre.realtimeUrl!,
                  apiKey: pre.credentials.api.key,
                  ref: h.ref,
                  logger: this.logger.child({ section: section.session.session_id }),
                  backoffMaxMs: pre.config.polling.backoff_max_ms,
                  onEvent: h.onEvent,
                  onStatus: h.onStatus,
                  onConnected: h.onConnected,
                  pingIntervalMs: this.timing.keepAlivePingMs,
                })
            : null,
          changed: () => this.changed(),
          transcripts: this.transcripts,
          writeStateFile: this.options.writeStateFile,
          transient: (e, thread) => this.transient(e, section.session.session_id, thread ?? null),
          now: this.now,
          timing: this.timing,
        }),
    );
    this.setPhase('running');
    // The CLI's `interrupt` talks to this (docs/cli.md); only the lock holder gets here.
    this.control = await startControlServer(
      this.paths.root,
      { interrupt: (section, alias) => this.interruptTurn(section, alias, 'cli') },
      this.logger,
    );
    this.logger.info('worker_running', `running ${this.sections.length} section(s)`, {
      instance_id: pre.lock.instanceId,
    });
    for (const s of this.sections) {
      void s.start().catch((e) => {
        const err = toWorkerError(e);
        this.logger.error('section_start_failed', err.message, { code: err.code, section: s.id });
      });
    }
  }

  private async doStop(): Promise<void> {
    if (this.phase !== 'running') {
      if (this.phase === 'preflight_failed' || this.phase === 'signed_out') return;
      this.setPhase('stopped');
      return;
    }
    this.setPhase('stopping');
    await this.control?.close();
    this.control = null;
    await Promise.all(
      this.sections.map((s) =>
        s.stop().catch((e) => {
          this.logger.warn('section_stop_failed', toWorkerError(e).message, { section: s.id });
        }),
      ),
    );
    const pre = this.pre;
    this.pre = null;
    this.setPhase('stopped');
    // The last word in snapshot.json is `stopped`; no pending timer writes after it.
    if (this.fileTimer) clearTimeout(this.fileTimer);
    this.fileTimer = null;
    await this.flushSnapshotFile();
    this.sections = [];
    if (pre) {
      pre.client.close();
      await pre.lock.release();
    }
    this.logger.info('worker_stopped', 'worker stopped');
  }

  releaseLockSync(): void {
    this.pre?.lock.releaseSync();
  }

  // ------------------------------------------------------------------------------------- accounts

  async login(request: LoginRequest): Promise<LoginResult> {
    return runLogin({ paths: this.paths, request, logger: this.logger });
  }

  async signOut(): Promise<void> {
    await this.stop();
    await fs.rm(this.paths.credentials, { force: true });
    this.preflightError = null;
    this.setPhase('signed_out');
  }

  // ------------------------------------------------------------------------------------- commands

  private section(sectionId: string): SectionRunner {
    const s = this.sections.find((x) => x.id === sectionId || x.ref.session_id === sectionId || x.name === sectionId);
    if (!s) throw new WorkerError('NOT_FOUND', `No running section ${JSON.stringify(sectionId)}.`);
    return s;
  }

  // ------------------------------------------------------------------------------------- transcripts

  /** The job id of a section given by id, session id or name, also when it is not running. */
  private sectionKey(sectionId: string): { id: string; sessionId: string } | null {
    const s = this.sections.find((x) => x.id === sectionId || x.ref.session_id === sectionId || x.name === sectionId);
    if (s) return { id: s.id, sessionId: s.ref.session_id };
    const configured = this.config?.sections.find(
      (x) => jobIdFor(x.session.session_id) === sectionId || x.session.session_id === sectionId || x.name === sectionId,
    );
    if (configured) return { id: jobIdFor(configured.session.session_id), sessionId: configured.session.session_id };
    const prefix = jobIdFor('');
    if (sectionId.startsWith(prefix) && sectionId.length > prefix.length) {
      return { id: sectionId, sessionId: sectionId.slice(prefix.length) };
    }
    return null;
  }

  async threadTranscript(sectionId: string, alias: string, opts: TranscriptPageOptions = {}): Promise<TranscriptPage> {
    const runner = this.sections.find((x) => x.id === this.sectionKey(sectionId)?.id)?.runner(alias);
    if (runner) return runner.transcript.page(opts);
    // No runner (worker stopped, section detached, thread not seen yet): what earlier runs recorded.
    const key = this.sectionKey(sectionId);
    const path = key ? this.paths.job(key.sessionId).threadLog(alias) : null;
    if (path && existsSync(path)) return readTranscriptFile(path, opts);
    throw new WorkerError('NOT_FOUND', `No thread ${JSON.stringify(alias)} in section ${JSON.stringify(sectionId)}.`);
  }

  subscribeThread(sectionId: string, alias: string, listener: (entries: TranscriptEntry[]) => void): () => void {
    return this.transcripts.subscribe(threadKey(this.sectionKey(sectionId)?.id ?? sectionId, alias), listener);
  }

  transcriptHeld(sectionId: string, alias: string): { entries: number; chars: number } | null {
    const runner = this.sections.find((x) => x.id === this.sectionKey(sectionId)?.id)?.runner(alias);
    return runner ? { entries: runner.transcript.held, chars: runner.transcript.heldChars } : null;
  }

  private api(): BlobHubApi {
    if (!this.pre) throw new WorkerError('INVALID_STATE', 'The worker is not running.');
    return this.pre.client;
  }

  async resetThread(sectionId: string, alias: string): Promise<void> {
    const ref = this.section(sectionId).ref;
    let seen: unknown;
    const outcome = await patchThreadMetadata(this.api(), ref, alias, (metadata) => {
      const instance = (metadata.instance ?? {}) as Record<string, unknown>;
      seen = instance.state;
      if (seen !== 'failed' && seen !== 'completed') return null;
      return { ...metadata, instance: { ...instance, state: 'pending' } };
    });
    if (outcome === 'missing') throw new WorkerError('NOT_FOUND', `Thread ${alias} does not exist in this session.`);
    if (outcome !== 'written') {
      throw new WorkerError(
        'INVALID_STATE',
        `Thread ${alias} is ${JSON.stringify(seen ?? null)}; only failed or completed threads can be reset.`,
      );
    }
  }

  async answerPrompt(promptId: string, answer: PromptAnswer): Promise<void> {
    for (const s of this.sections) {
      const outcome = await s.answerPrompt(promptId, answer);
      if (outcome === 'answered') return;
      if (outcome === 'withdrawn') {
        throw new WorkerError(
          'NOT_FOUND',
          `Prompt ${promptId} was withdrawn by the agent before the answer reached it; nothing was answered (the thread shows it cancelled).`,
        );
      }
    }
    throw new WorkerError('NOT_FOUND', `No open prompt ${promptId} (it may have been answered or cancelled).`);
  }

  async interruptTurn(sectionId: string, alias: string, via: 'desktop' | 'cli' = 'desktop'): Promise<void> {
    await this.section(sectionId).interruptTurn(alias, via);
  }

  async revokeGrant(sectionId: string, alias: string, rule: string): Promise<void> {
    await this.section(sectionId).revokeGrant(alias, rule);
  }

  async detachSection(sectionId: string): Promise<void> {
    await this.section(sectionId).detach();
  }

  async reattachSection(sectionId: string): Promise<void> {
    await this.section(sectionId).reattach();
  }

  async updateHandoff(sectionId: string, alias: string, patch: HandoffPatch): Promise<void> {
    const ref: SessionRef = this.section(sectionId).ref;
    const outcome = await patchThreadMetadata(this.api(), ref, alias, (metadata) => applyHandoffPatch(metadata, patch));
    if (outcome === 'missing') throw new WorkerError('NOT_FOUND', `Thread ${alias} does not exist in this session.`);
    if (outcome !== 'written') throw new WorkerError('INVALID_STATE', `${alias} is not a thread object.`);
  }

  // ------------------------------------------------------------------------------------- snapshot

  snapshot(): Snapshot {
    const base = emptySnapshot(this.stateRoot, VERSION, this.config?.concurrency.max_agents ?? 4);
    const pre = this.pre;
    return {
      ...base,
      phase: this.phase,
      preflight_error: this.preflightError,
      instance_id: pre?.lock.instanceId ?? null,
      identity: pre
        ? {
            user_id: pre.identity.user_id,
            name: pre.serverIdentity.name ?? pre.identity.name ?? null,
            email: pre.serverIdentity.email ?? pre.identity.email ?? null,
            api_url: pre.credentials.api.url,
          }
        : null,
      agents: { busy: this.pool?.busy ?? 0, max: this.pool?.max ?? base.agents.max },
      sections: this.sections.map((s) => s.view()),
      prompts: this.sections.flatMap((s) => s.prompts()),
      recent_errors: [...this.recent],
      policy: this.config
        ? { ...this.config.policy, work_folder_roots: [...this.config.policy.work_folder_roots] }
        : null,
      updated_at: this.now().toISOString(),
    };
  }

  onChange(listener: (snapshot: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setPhase(phase: Snapshot['phase']): void {
    this.phase = phase;
    this.changed();
  }

  private transient(e: WorkerError, section: string | null, thread: string | null): void {
    const err = isWorkerError(e) ? e : toWorkerError(e);
    this.recent.push({ code: err.code, message: err.message, at: this.now().toISOString(), section, thread });
    if (this.recent.length > RECENT_ERRORS_MAX) this.recent.splice(0, this.recent.length - RECENT_ERRORS_MAX);
    this.changed();
  }

  private changed(): void {
    this.notifyTimer ??= setTimeout(() => {
      this.notifyTimer = null;
      // Building a snapshot walks every thread; nobody to hand it to (the CLI never listens) = nothing to build.
      if (this.listeners.size === 0) return;
      const snap = this.snapshot();
      this.checkSnapshot(snap);
      for (const l of this.listeners) {
        try {
          l(snap);
        } catch (e) {
          // A listener's trouble is its own, but it is never silent (a window that stops updating says why).
          this.warnOnce('snapshot_listener_failed', `a snapshot listener failed: ${toWorkerError(e).message}`);
        }
      }
    }, NOTIFY_MS);
    if (this.options.writeSnapshotFile === false || !this.pre) return;
    this.fileTimer ??= setTimeout(() => {
      this.fileTimer = null;
      void this.flushSnapshotFile();
    }, SNAPSHOT_WRITE_MS);
  }

  /**
   * The snapshot is what every shell renders; one that fails its own schema is still handed out (the shells
   * parse it again and decide), and the first issue is logged with its path, once per distinct problem.
   */
  private checkSnapshot(snap: Snapshot): void {
    const parsed = Snapshot.safeParse(snap);
    if (parsed.success) return;
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.map(String).join('.') || '(root)' : '(root)';
    this.warnOnce('snapshot_invalid', `the snapshot fails its schema at ${where}: ${issue?.message ?? 'invalid'}`);
  }

  private warned = new Set<string>();

  private warnOnce(event: string, message: string): void {
    const key = `${event}\n${message}`;
    if (this.warned.has(key)) return;
    if (this.warned.size >= RECENT_ERRORS_MAX) this.warned.clear(); // bounded; a new problem is logged again
    this.warned.add(key);
    this.logger.warn(event, message, { code: 'INTERNAL_ERROR' });
  }

  /** Written only while this process holds the lock, so it never clobbers another worker's view. */
  private flushSnapshotFile(): Promise<void> {
    if (this.options.writeSnapshotFile === false) return Promise.resolve();
    const snap = this.snapshot();
    if (!snap.instance_id && snap.phase !== 'stopped') return Promise.resolve();
    if (!this.pre && snap.phase !== 'stopped') return Promise.resolve();
    const path = join(this.stateRoot, SNAPSHOT_FILE);
    this.fileWrites = this.fileWrites
      .then(() => writeFileAtomic(path, JSON.stringify(snap, null, 2) + '\n'))
      .catch((e) => this.logger.warn('snapshot_write_failed', toWorkerError(e).message));
    return this.fileWrites;
  }
}

/** Applies the editor's patch to `value.thread.metadata`; `null` removes a field, other keys are kept. */
export function applyHandoffPatch(metadata: Record<string, unknown>, patch: HandoffPatch): Record<string, unknown> {
  const out: Record<string, unknown> = { ...metadata };
  const block = (key: string): Record<string, unknown> => {
    const v = out[key];
    const copy = { ...asRecord(v) };
    out[key] = copy;
    return copy;
  };
  const set = (target: Record<string, unknown>, key: string, value: string | null | undefined): void => {
    if (value === undefined) return;
    if (value === null) delete target[key];
    else target[key] = value;
  };
  if (patch.work_folder !== undefined) set(block('workspace'), 'work_folder', patch.work_folder);
  const agentFields: Array<[keyof HandoffPatch, string]> = [
    ['agent_type', 'type'],
    ['executable', 'executable'],
    ['model', 'model'],
    ['effort', 'effort'],
    ['permissions', 'permissions'],
  ];
  if (agentFields.some(([k]) => patch[k] !== undefined)) {
    const agent = block('agent');
    for (const [k, field] of agentFields) set(agent, field, patch[k]);
  }
  if (patch.state !== undefined) block('instance').state = patch.state;
  return out;
}

export function createWorkerHost(options: WorkerHostOptions = {}): LocalWorkerHost {
  return new InProcessWorkerHost(options);
}
