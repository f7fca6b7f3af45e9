/**
 * One `session_agent_harness` section: the attach algorithm (decisions §5), the heartbeat, the change feed
 * (decisions §4: realtime events for targeted work + a reconcile that is always available), and one
 * ThreadRunner per job thread. A section that is refused or detached stops on its own; the others go on.
 */
import { WorkerError, toWorkerError } from '../errors';
import { fileSink, type Logger } from '../log';
import { isApiError } from '../api/errors';
import type { Envelope, PostItemInput, SessionEvent, SessionRef } from '../api/types';
import type { RealtimeStatus } from '../api/realtime';
import type { PromptAnswer } from '../agents/types';
import type { ThreadLog } from '../agents/thread-log';
import type { SectionConfig } from '../state/config';
import { jobIdFor, type JobPaths, type StatePaths } from '../state/paths';
import type { SnapshotPrompt, SnapshotSection } from '../snapshot';
import { Backoff } from '../api/retry';
import { WORKER_ALIAS, diagnoseNonJob, parseJob } from './handoff';
import {
  newWorkerObjectValue,
  touchWorkerObject,
  withInstance,
  workerObjectOwner,
  type InstanceBlock,
} from './envelope';
import { SectionStore, SerialQueue } from './local-state';
import {
  ThreadRunner,
  settleWithin,
  type HarnessServices,
  type ThreadContext,
  type ThreadOutbox,
  type ThreadTiming,
  type OutboxFatal,
  type OutboxPosted,
} from './thread-runner';
import { sectionAttachedItem } from './outbound/items';

export interface SectionTiming extends ThreadTiming {
  /** decisions §5: 30 s. */
  heartbeatMs: number;
  /** decisions §4: the safety-net reconcile while realtime is connected, 60 s. */
  realtimeReconcileMs: number;
}

export const DEFAULT_SECTION_TIMING: Omit<SectionTiming, keyof ThreadTiming> = {
  heartbeatMs: 30_000,
  realtimeReconcileMs: 60_000,
};

/** A live change feed (the RealtimeClient of `api/realtime.ts`, or a test double). */
export interface ChangeFeed {
  readonly status: RealtimeStatus;
  start(): void;
  close(): Promise<void>;
}

export interface ChangeFeedHandlers {
  ref: SessionRef;
  onEvent: (event: SessionEvent) => void;
  onStatus: (status: RealtimeStatus) => void;
  onConnected: () => Promise<void>;
}

export interface OutboxRequest {
  journalPath: string;
  ref: SessionRef;
  alias: string;
  logger: Logger;
  onFatal: OutboxFatal;
  /** Receives the untruncated payload of truncated items. */
  threadLog?: ThreadLog;
  /** After the server confirmed an emission (thread.yaml `cursors.outbound`, decisions §12). */
  onPosted?: OutboxPosted;
  /** The §11 retry window of one item (default 10 min); thread outboxes get `timing.postRetryWindowMs`. */
  postDeadlineMs?: number;
}

export interface SectionDeps extends HarnessServices {
  section: SectionConfig;
  paths: StatePaths;
  instance: { instanceId: string; version: string; startedAt: string };
  openOutbox: (request: OutboxRequest) => Promise<ThreadOutbox>;
  /** `null` = realtime off: reconcile only. */
  openFeed: ((handlers: ChangeFeedHandlers) => ChangeFeed) | null;
  /** A transient problem for the warning ribbon. */
  transient: (error: WorkerError, thread?: string) => void;
  timing: SectionTiming;
}

export type AttachmentStatus = SnapshotSection['attachment'];

/** A wait that `wake()` ends early (a realtime reconnect, a close). */
class Ticker {
  private timer: NodeJS.Timeout | null = null;
  private resolve: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    this.wake();
    return new Promise((r) => {
      this.resolve = r;
      this.timer = setTimeout(() => this.wake(), ms);
    });
  }

  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const r = this.resolve;
    this.resolve = null;
    r?.();
  }
}

export class SectionRunner {
  readonly id: string;
  readonly ref: SessionRef;
  private status: AttachmentStatus = 'attaching';
  private error: WorkerError | null = null;
  private errorAt: string | null = null;
  private store: SectionStore | null = null;
  private readonly jobPaths: JobPaths;
  private readonly log: Logger;
  private runners = new Map<string, ThreadRunner>();
  /** The last seen `value` of every alias (JSON), to run the state machine on changes only. */
  private lastSeen = new Map<string, string>();
  /** `alias \n shape` of every thread envelope already warned about as "looks like a handoff, is not a job". */
  private warnedIgnored = new Set<string>();
  private feed: ChangeFeed | null = null;
  private realtime: RealtimeStatus = 'off';
  private workerOutbox: ThreadOutbox | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** The attachment (generation) whose heartbeat is between its read and its write: its next tick skips. */
  private beatingGeneration: number | null = null;
  private readonly ticker = new Ticker();
  private readonly work = new SerialQueue();
  /** Bumped on every (re)attach so loops of an earlier attachment end. */
  private generation = 0;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SectionDeps) {
    this.id = jobIdFor(deps.section.session.session_id);
    this.ref = { revision_id: deps.section.session.revision_id, session_id: deps.section.session.session_id };
    this.jobPaths = deps.paths.job(deps.section.session.session_id);
    this.log = deps.logger.child({ section: this.id }, [fileSink(this.jobPaths.sectionLog)]);
  }

  get attachment(): AttachmentStatus {
    return this.status;
  }
  get name(): string | null {
    return this.deps.section.name;
  }

  /** Attach, then run until stopped, refused or detached. Resolves once the attach outcome is known. */
  async start(): Promise<void> {
    // Taken before the first await: a stop() that lands during any await below must end this start.
    const generation = ++this.generation;
    this.store ??= await SectionStore.open(
      this.jobPaths.sectionYaml,
      {
        name: this.deps.section.name,
        session: this.deps.section.session,
      },
      (message, movedTo) => {
        const where = movedTo ? `moved aside to ${movedTo}` : 'could not be moved aside';
        this.log.warn('section_yaml_invalid', `section.yaml ignored (${where}): ${message}`, {
          code: 'STATE_FILE_INVALID',
          moved_to: movedTo,
        });
      },
    );
    if (generation !== this.generation) return;
    this.setStatus('attaching', null);
    const attached = await this.attach(generation);
    if (!attached || generation !== this.generation) return;
    const workerOutbox = await this.openOutbox(WORKER_ALIAS, (e) => this.deps.transient(e));
    if (generation !== this.generation) {
      // Stopped while the outbox opened: halt() has already run, so nothing after this point would ever be
      // closed again (a realtime socket opened here kept the process alive after "stopped").
      await workerOutbox.close();
      return;
    }
    this.workerOutbox = workerOutbox;
    this.workerOutbox.enqueue(sectionAttachedItem(this.deps.instance.instanceId, this.deps.instance.version));
    this.heartbeat = setInterval(() => void this.beat(generation), this.deps.timing.heartbeatMs);
    this.heartbeat.unref?.();
    if (this.deps.openFeed) {
      this.feed = this.deps.openFeed({
        ref: this.ref,
        onEvent: (event) => void this.work.run(() => this.onEvent(event, generation)),
        onStatus: (status) => {
          this.realtime = status;
          this.deps.changed();
        },
        onConnected: () => this.work.run(() => this.reconcile(generation)),
      });
      this.feed.start();
    }
    this.loopDone = this.loop(generation);
  }

  // ------------------------------------------------------------------------------------------ attach

  /** decisions §5, in order. Returns true when attached. */
  private async attach(generation: number): Promise<boolean> {
    const backoff = new Backoff({ maxMs: this.deps.config().polling.backoff_max_ms });
    for (;;) {
      if (generation !== this.generation) return false;
      try {
        return await this.attachOnce();
      } catch (e) {
        const err = toWorkerError(e);
        if (err instanceof WorkerError && err.code in SECTION_CODES) {
          await this.refuse(err);
          return false;
        }
        // Transient trouble (retries exhausted): keep trying, the section is not refused for it.
        this.deps.transient(err);
        this.log.warn('attach_retry', `attach failed, retrying: ${err.message}`, { code: err.code });
        await this.ticker.sleep(backoff.next());
      }
    }
  }

  private async attachOnce(): Promise<boolean> {
    const { api, userId } = this.deps;
    let aliases: string[];
    try {
      aliases = await api.listSessionObjects(this.ref);
    } catch (e) {
      if (isApiError(e) && (e.status === 404 || e.status === 403)) {
        throw new WorkerError(
          'SESSION_NOT_FOUND',
          `Session ${this.ref.session_id} was not found or is not accessible (HTTP ${e.status}).`,
        );
      }
      throw e;
    }
    const now = this.deps.now().toISOString();
    const instance: InstanceBlock = {
      instance_id: this.deps.instance.instanceId,
      version: this.deps.instance.version,
      started_at: this.deps.instance.startedAt,
      last_seen_at: now,
      status: 'attached',
    };
    const existing = aliases.includes(WORKER_ALIAS) ? await api.downloadSessionObject(this.ref, WORKER_ALIAS) : null;
    if (!existing) {
      await api.uploadSessionObject(this.ref, WORKER_ALIAS, newWorkerObjectValue(userId, instance));
    } else if (existing.value.type !== 'thread') {
      throw new WorkerError(
        'SECTION_WORKER_OBJECT_MALFORMED',
        `The "worker" object of session ${this.ref.session_id} has value.type ${JSON.stringify(existing.value.type)}, not "thread".`,
      );
    } else {
      const owner = workerObjectOwner(existing);
      if (owner !== userId) {
        throw new WorkerError(
          'SESSION_OWNED_BY_DIFFERENT_USER',
          `Session ${this.ref.session_id} is held by user ${owner ?? '(none recorded)'}; this worker runs as ${userId}.`,
        );
      }
      await api.uploadSessionObject(this.ref, WORKER_ALIAS, withInstance(existing.value, { ...instance }));
    }
    await this.store!.setAttachment('attached', now);
    this.setStatus('attached', null);
    this.log.info('section_attached', `attached to session ${this.ref.session_id}`);
    return true;
  }

  private async refuse(error: WorkerError): Promise<void> {
    await this.store!.setAttachment('refused', null, { code: error.code, message: error.message });
    this.setStatus('refused', error);
    this.log.error('section_refused', error.message, { code: error.code });
  }

  private setStatus(status: AttachmentStatus, error: WorkerError | null): void {
    this.status = status;
    this.error = error;
    this.errorAt = error ? this.deps.now().toISOString() : null;
    this.deps.changed();
  }

  private async beat(generation: number): Promise<void> {
    if (generation !== this.generation || this.status !== 'attached') return;
    // On a slow server one heartbeat's retries can outlast the period; overlapping read-modify-writes could
    // land out of order (last_seen_at going back) and double the load on a server that is already struggling.
    // A beat left over from an earlier attachment does not hold back this one's.
    if (this.beatingGeneration === generation) return;
    this.beatingGeneration = generation;
    try {
      const outcome = await touchWorkerObject(this.deps.api, this.ref, this.deps.userId, this.deps.now().toISOString());
      if (outcome !== 'written') await this.work.run(() => this.detachedExternally(generation));
    } catch (e) {
      this.deps.transient(toWorkerError(e));
    } finally {
      if (this.beatingGeneration === generation) this.beatingGeneration = null;
    }
  }

  // ------------------------------------------------------------------------------------- change feed

  /** The reconcile cadence of decisions §4; errors back off up to polling.backoff_max_ms. */
  private async loop(generation: number): Promise<void> {
    const backoff = new Backoff({ maxMs: this.deps.config().polling.backoff_max_ms });
    let delay = 0;
    let lastCadence = '';
    while (generation === this.generation && this.status === 'attached') {
      if (delay > 0) await this.ticker.sleep(delay);
      if (generation !== this.generation || this.status !== 'attached') break;
      try {
        const began = Date.now();
        await this.work.run(() => this.reconcile(generation));
        backoff.reset();
        const cadence = this.cadence();
        // Start to start: the poll period is the configured interval, not interval + reconcile time; a slow
        // reconcile still leaves a tenth of the interval of rest so a slow server is not polled back to back.
        delay = Math.max(cadence.ms - (Date.now() - began), Math.ceil(cadence.ms / 10));
        // section.log records the poll cadence (session-agent-harness.md §3) whenever it changes.
        if (`${cadence.mode}:${cadence.ms}` !== lastCadence) {
          lastCadence = `${cadence.mode}:${cadence.ms}`;
          this.log.info('poll_cadence', `reconciling every ${cadence.ms} ms (${cadence.mode})`, {
            mode: cadence.mode,
            interval_ms: cadence.ms,
          });
        }
      } catch (e) {
        const err = toWorkerError(e);
        this.deps.transient(err);
        this.log.warn('reconcile_failed', err.message, { code: err.code });
        delay = backoff.next();
      }
    }
  }

  private cadence(): { ms: number; mode: 'realtime' | 'active' | 'idle' } {
    const polling = this.deps.config().polling;
    if (this.realtime === 'connected') return { ms: this.deps.timing.realtimeReconcileMs, mode: 'realtime' };
    const anyActive = [...this.runners.values()].some((r) => r.isActive);
    return anyActive
      ? { ms: polling.interval_active_ms, mode: 'active' }
      : { ms: polling.interval_idle_ms, mode: 'idle' };
  }

  /**
   * Full reconcile: list + download every alias, run the state machine on what changed, then tail the items
   * of every active thread. The first view of each thread after a start is its recovery (decisions §6.5).
   */
  private async reconcile(generation: number): Promise<void> {
    if (generation !== this.generation || this.status !== 'attached') return;
    const aliases = await this.deps.api.listSessionObjects(this.ref);
    if (!aliases.includes(WORKER_ALIAS)) {
      await this.detachedExternally(generation);
      return;
    }
    const present = new Set(aliases);
    for (const alias of aliases) {
      if (alias === WORKER_ALIAS) continue;
      const envelope = await this.deps.api.downloadSessionObject(this.ref, alias);
      if (generation !== this.generation) return;
      await this.applyEnvelope(alias, envelope);
    }
    for (const alias of [...this.lastSeen.keys()]) {
      if (!present.has(alias)) await this.applyEnvelope(alias, null);
    }
    for (const runner of this.runners.values()) {
      if (runner.isActive) void runner.pollItems().catch((e) => this.threadTransient(runner.alias, e));
    }
    await this.store!.setLastProcessed(this.deps.now().toISOString());
  }

  private async onEvent(event: SessionEvent, generation: number): Promise<void> {
    if (generation !== this.generation || this.status !== 'attached') return;
    const alias = event.session_object?.alias ?? event.alias;
    if (!alias) {
      this.log.warn('event_malformed', `session event ${event.type} without an alias; ignored`);
      return;
    }
    this.log.info('event_dispatched', `${event.type} for ${alias}`, {
      type: event.type,
      alias,
      event_id: event.id ?? null,
    });
    try {
      switch (event.type) {
        case 'session_object_modified':
          // Our own heartbeat and activity fire these for `worker`: nothing to do.
          if (alias !== WORKER_ALIAS)
            await this.applyEnvelope(alias, await this.deps.api.downloadSessionObject(this.ref, alias));
          break;
        case 'session_object_deleted':
          if (alias === WORKER_ALIAS) await this.detachedExternally(generation);
          else await this.applyEnvelope(alias, null);
          break;
        case 'session_thread_item_posted': {
          const runner = this.runners.get(alias);
          if (runner?.isActive) void runner.pollItems().catch((e) => this.threadTransient(alias, e));
          break;
        }
        default:
          break;
      }
    } catch (e) {
      this.deps.transient(toWorkerError(e));
    }
    const at = typeof event.created_at === 'number' ? new Date(event.created_at) : this.deps.now();
    await this.store!.setLastProcessed(at.toISOString());
  }

  /** Runs the state machine for one alias when its envelope changed (`null` = gone). */
  private async applyEnvelope(alias: string, envelope: Envelope | null): Promise<void> {
    if (alias === WORKER_ALIAS) return;
    const seen = envelope ? JSON.stringify(envelope.value) : null;
    const before = this.lastSeen.get(alias) ?? null;
    if (seen === before && this.runners.has(alias)) return;
    if (seen === null) this.lastSeen.delete(alias);
    else this.lastSeen.set(alias, seen);
    const job = parseJob(envelope);
    if (!job) this.warnIfIgnored(alias, envelope);
    let runner = this.runners.get(alias);
    if (!job && !runner) return; // not a job (yet): plain chat threads and other objects are ignored
    const first = !runner;
    if (!runner) {
      runner = await ThreadRunner.open(alias, this.threadContext());
      this.runners.set(alias, runner);
      this.log.info('thread_discovered', `job thread ${alias} (instance.state ${job?.state ?? 'none'})`, {
        thread: alias,
        state: job?.state ?? null,
      });
    }
    // Not awaited: an activation may wait for a slot; the runner orders its own steps.
    void runner.onEnvelope(job, first).catch((e) => this.threadTransient(alias, e));
    this.deps.changed();
  }

  /**
   * A thread envelope that looks like a handoff but is not a job (e.g. no `thread` wrapper) would otherwise be
   * ignored without a trace: warn once per alias + shape (section.log and the worker's log). Diagnostic only.
   */
  private warnIfIgnored(alias: string, envelope: Envelope | null): void {
    if (!envelope) {
      for (const key of [...this.warnedIgnored]) if (key.startsWith(`${alias}\n`)) this.warnedIgnored.delete(key);
      return;
    }
    const why = diagnoseNonJob(envelope);
    if (!why || this.warnedIgnored.has(`${alias}\n${why.shape}`)) return;
    this.warnedIgnored.add(`${alias}\n${why.shape}`);
    this.log.warn('envelope_ignored', `thread ${alias} is not a job and is ignored: ${why.message}`, {
      thread: alias,
      missing: why.missing,
      shape: why.shape,
    });
  }

  private threadTransient(alias: string, e: unknown): void {
    const err = toWorkerError(e);
    this.log.warn('thread_work_failed', err.message, { code: err.code, thread: alias });
    this.deps.transient(err, alias);
  }

  private threadContext(): ThreadContext {
    const d = this.deps;
    return {
      api: d.api,
      userId: d.userId,
      config: d.config,
      pool: d.pool,
      env: d.env,
      agentFactory: d.agentFactory,
      resolveExecutable: d.resolveExecutable,
      changed: d.changed,
      now: d.now,
      timing: d.timing,
      logger: this.log,
      sectionId: this.id,
      ref: this.ref,
      paths: this.jobPaths,
      openOutbox: (alias, onFatal, threadLog, onPosted) =>
        this.openOutbox(alias, onFatal, threadLog, onPosted, d.timing.postRetryWindowMs),
      activity: (item) => this.activity(item),
    };
  }

  private openOutbox(
    alias: string,
    onFatal: OutboxFatal,
    threadLog?: ThreadLog,
    onPosted?: OutboxPosted,
    postDeadlineMs?: number,
  ): Promise<ThreadOutbox> {
    return this.deps.openOutbox({
      journalPath: this.jobPaths.threadOutbox(alias),
      ref: this.ref,
      alias,
      logger: this.log.child({ thread: alias }),
      onFatal,
      threadLog,
      onPosted,
      postDeadlineMs,
    });
  }

  /** An item on the `worker` activity thread. */
  private activity(item: PostItemInput): void {
    if (this.status !== 'attached' || !this.workerOutbox) return;
    try {
      this.workerOutbox.enqueue(item).posted.catch(() => undefined);
    } catch (e) {
      this.log.warn('activity_enqueue_failed', toWorkerError(e).message, { code: toWorkerError(e).code });
    }
  }

  // -------------------------------------------------------------------------------- detach & shutdown

  /** decisions §5: the worker object is gone. Agents stop, envelopes stay, no self re-attach. */
  private async detachedExternally(generation: number): Promise<void> {
    if (generation !== this.generation || this.status !== 'attached') return;
    const error = new WorkerError(
      'SESSION_DETACHED_EXTERNALLY',
      `The "worker" object of session ${this.ref.session_id} was deleted while attached.`,
    );
    await this.store!.setAttachment('detached', this.store!.value.attachment.attached_at, {
      code: error.code,
      message: error.message,
    });
    this.setStatus('detached', error);
    this.log.error('section_detached', error.message, { code: error.code });
    // Runs on the work queue itself: waiting for the loop (which waits for this queue) would deadlock.
    await this.halt({ drainWorkerOutbox: false, insideWork: true });
  }

  /** The desktop's Detach: stop the agents, delete the worker object (frees the session). */
  async detach(): Promise<void> {
    if (this.status !== 'attached') {
      await this.halt({ drainWorkerOutbox: false });
      return;
    }
    this.generation++;
    this.setStatus('detached', null);
    await this.halt({ drainWorkerOutbox: true });
    await this.store!.setAttachment('detached', this.store!.value.attachment.attached_at);
    await this.deps.api.deleteSessionObject(this.ref, WORKER_ALIAS);
    this.log.info('section_detached', 'detached by the user; the worker object was deleted');
  }

  /** The desktop's Re-attach (or a restart): the attach algorithm again, with fresh runners. */
  async reattach(): Promise<void> {
    if (this.status === 'attached' || this.status === 'attaching') return;
    await this.halt({ drainWorkerOutbox: false });
    await this.start();
  }

  /** Graceful shutdown: threads stop at a boundary, outboxes drain (bounded) or stay journaled. */
  async stop(): Promise<void> {
    await this.halt({ drainWorkerOutbox: true });
  }

  private async halt(options: { drainWorkerOutbox: boolean; insideWork?: boolean }): Promise<void> {
    this.generation++;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.ticker.wake();
    const feed = this.feed;
    this.feed = null;
    this.realtime = 'off';
    await feed?.close();
    const runners = [...this.runners.values()];
    this.runners = new Map();
    this.lastSeen = new Map();
    await Promise.all(runners.map((r) => r.shutdown().catch((e) => this.threadTransient(r.alias, e))));
    const outbox = this.workerOutbox;
    this.workerOutbox = null;
    if (outbox) {
      if (options.drainWorkerOutbox) {
        await settleWithin(outbox.drain(), this.deps.timing.shutdownDrainMs);
      }
      await outbox.close();
    }
    if (!options.insideWork) await this.loopDone.catch(() => undefined);
    this.deps.changed();
  }

  // ------------------------------------------------------------------------------------- commands

  runner(alias: string): ThreadRunner | undefined {
    return this.runners.get(alias);
  }

  /** Finds the runner with this open prompt and answers it in-process (§9.3). */
  async answerPrompt(promptId: string, answer: PromptAnswer): Promise<boolean> {
    for (const runner of this.runners.values()) {
      if (runner.openPromptId === promptId) return runner.answerPrompt(promptId, answer, 'desktop');
    }
    return false;
  }

  // ------------------------------------------------------------------------------------- snapshot

  view(): SnapshotSection {
    return {
      id: this.id,
      name: this.deps.section.name,
      session: { ...this.deps.section.session },
      attachment: this.status,
      error: this.error
        ? {
            code: this.error.code,
            message: this.error.message,
            remediation: this.error.remediation,
            at: this.errorAt ?? '',
          }
        : null,
      realtime: this.realtime,
      threads: [...this.runners.values()].map((r) => r.view()).sort((a, b) => a.alias.localeCompare(b.alias)),
    };
  }

  prompts(): SnapshotPrompt[] {
    return [...this.runners.values()].flatMap((r) => r.promptView() ?? []);
  }

  /** Busy threads of this section (for the cadence and tests). */
  get activeThreads(): string[] {
    return [...this.runners.values()].filter((r) => r.isActive).map((r) => r.alias);
  }
}

const SECTION_CODES = {
  SESSION_NOT_FOUND: true,
  SECTION_WORKER_OBJECT_MALFORMED: true,
  SESSION_OWNED_BY_DIFFERENT_USER: true,
} as const;
