/**
 * One `session_agent_harness` section: the change feed (protocol §4: realtime events for targeted work + a
 * reconcile that is always available), one ThreadRunner per job thread, detach and shutdown. Attaching and the
 * heartbeat (protocol §5) are in section-attach.ts. A section that is refused or detached stops on its own;
 * the others go on.
 *
 * Over 400 lines on purpose: the reconcile loop, the event dispatch and halt all turn on the same attachment
 * generation and the one work queue; apart, each file would hold half of that lock.
 */
import { WorkerError, toWorkerError } from '../errors';
import { fileSink, type FileLogSink, type Logger } from '../log';
import { rotationOf } from '../state/config';
import type { Envelope, PostItemInput, SessionEvent, SessionRef } from '../api/types';
import type { RealtimeStatus } from '../api/realtime';
import type { PromptAnswer } from '../agents/types';
import type { ThreadLog } from '../agents/thread-log';
import { jobIdFor, type JobPaths } from '../state/paths';
import type { SnapshotPrompt, SnapshotSection } from '../snapshot';
import { addStats, zeroStats } from '../transcript/schema';
import { Backoff } from '../api/retry';
import { SerialQueue } from '../util/serial-queue';
import { Ticker } from '../util/ticker';
import { settleWithin } from '../util/timeout';
import { WORKER_ALIAS, diagnoseNonJob, parseJob } from './handoff';
import { SectionStore } from './local-state';
import { ThreadRunner } from './thread-runner';
import type { AnswerOutcome } from './thread-prompts';
import type { OutboxFatal, OutboxPosted, ThreadContext, ThreadOutbox } from './thread-context';
import type { AttachmentStatus, ChangeFeed, SectionDeps } from './section-context';
import { Heartbeat, attachSection } from './section-attach';
import { nextReconcile, type NextReconcile } from './cadence';
import { sectionAttachedItem } from './outbound/items';

export class SectionRunner {
  readonly id: string;
  readonly ref: SessionRef;
  private status: AttachmentStatus = 'attaching';
  private error: WorkerError | null = null;
  private errorAt: string | null = null;
  private store: SectionStore | null = null;
  private readonly jobPaths: JobPaths;
  readonly log: Logger;
  private runners = new Map<string, ThreadRunner>();
  /** Runners of deleted threads, stopping; a re-created alias waits for its old runner to be gone. */
  private retiring = new Map<string, Promise<void>>();
  /** section.log: released on halt (reload, sign-out, stop), reopened by the next record. */
  private readonly sectionLog: FileLogSink;
  /** The last seen `value` of every alias (JSON), to run the state machine on changes only. */
  private lastSeen = new Map<string, string>();
  /** `alias \n shape` of every thread envelope already warned about as "looks like a handoff, is not a job". */
  private warnedIgnored = new Set<string>();
  private feed: ChangeFeed | null = null;
  private realtime: RealtimeStatus = 'off';
  private workerOutbox: ThreadOutbox | null = null;
  private readonly heartbeat: Heartbeat;
  readonly ticker = new Ticker();
  private readonly work = new SerialQueue();
  /** Bumped on every (re)attach so loops of an earlier attachment end. */
  private generation = 0;
  private loopDone: Promise<void> = Promise.resolve();
  /** When the last reconcile ran (epoch ms): the cadence counts from it. */
  private reconciled = { startedAt: 0, endedAt: 0 };

  constructor(readonly deps: SectionDeps) {
    this.id = jobIdFor(deps.section.session.session_id);
    this.ref = { revision_id: deps.section.session.revision_id, session_id: deps.section.session.session_id };
    this.jobPaths = deps.paths.job(deps.section.session.session_id);
    this.sectionLog = fileSink(this.jobPaths.sectionLog, rotationOf(deps.config().logs), (p) =>
      // Reported through the shell's own sinks only: section.log is the file that fails.
      p.event === 'log_write_failed'
        ? deps.logger.warn('section_log_write_failed', p.message, { section: this.id, code: 'STATE_IO_ERROR' })
        : deps.logger.info('section_log_recovered', p.message, { section: this.id, lost: p.lost }),
    );
    this.log = deps.logger.child({ section: this.id }, [this.sectionLog]);
    this.heartbeat = new Heartbeat({
      deps,
      ref: this.ref,
      isAttached: (generation) => generation === this.generation && this.status === 'attached',
      lost: (generation) => this.work.run(() => this.detachedExternally(generation)),
    });
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
      this.deps.writeStateFile,
    );
    if (generation !== this.generation) return;
    this.setStatus('attaching', null);
    const attached = await attachSection(
      {
        deps: this.deps,
        ref: this.ref,
        log: this.log,
        ticker: this.ticker,
        store: () => this.store!,
        isCurrent: (g) => g === this.generation,
        setStatus: (status, error) => this.setStatus(status, error),
      },
      generation,
    );
    if (!attached || generation !== this.generation) return;
    let workerOutbox: ThreadOutbox | null = null;
    try {
      workerOutbox = await this.openOutbox(WORKER_ALIAS, (e) => this.deps.transient(e));
    } catch (e) {
      // The threads still run without the activity thread (its items are lost, and said so here).
      const err = toWorkerError(e);
      this.log.error('activity_outbox_failed', `the worker thread's outbox did not open: ${err.message}`, {
        code: err.code,
      });
      this.deps.transient(err);
    }
    if (generation !== this.generation) {
      // Stopped while the outbox opened: halt() has already run, so nothing after this point would ever be
      // closed again (a realtime socket opened here kept the process alive after "stopped").
      await workerOutbox?.close();
      return;
    }
    this.workerOutbox = workerOutbox;
    this.activity(sectionAttachedItem(this.deps.instance.instanceId, this.deps.instance.version));
    this.heartbeat.start(generation);
    if (this.deps.openFeed) {
      this.feed = this.deps.openFeed({
        ref: this.ref,
        onEvent: (event) => {
          // Before the queue: the heartbeat must know at once whether `worker` changed under it.
          this.heartbeat.observe(event);
          void this.work
            .run(() => this.onEvent(event, generation))
            .catch((e: unknown) => {
              const err = toWorkerError(e);
              this.log.warn('event_failed', `session event ${event.type}: ${err.message}`, { code: err.code });
              this.deps.transient(err);
            });
        },
        onStatus: (status) => {
          this.realtime = status;
          this.heartbeat.feedChanged(status);
          // The cadence depends on the feed: the loop looks again (it reconciles only when due).
          this.ticker.wake();
          this.deps.changed();
        },
        onConnected: () => this.work.run(() => this.reconcile(generation)),
      });
      this.feed.start();
    }
    this.loopDone = this.loop(generation);
  }

  private setStatus(status: AttachmentStatus, error: WorkerError | null): void {
    this.status = status;
    this.error = error;
    this.errorAt = error ? this.deps.now().toISOString() : null;
    this.deps.changed();
  }

  // ------------------------------------------------------------------------------------- change feed

  /** The reconcile cadence of protocol §4 (cadence.ts); errors back off up to polling.backoff_max_ms. */
  private async loop(generation: number): Promise<void> {
    const backoff = new Backoff({ maxMs: this.deps.config().polling.backoff_max_ms });
    let retryAt: number | null = null;
    let lastCadence = '';
    let first = true;
    while (generation === this.generation && this.status === 'attached') {
      if (!first) await this.untilDue(generation, retryAt);
      first = false;
      if (generation !== this.generation || this.status !== 'attached') break;
      try {
        await this.work.run(() => this.reconcile(generation));
        backoff.reset();
        retryAt = null;
        const next = this.nextReconcile(Date.now());
        // section.log records the poll cadence (protocol §12) whenever it changes.
        if (`${next.mode}:${next.intervalMs}` !== lastCadence) {
          lastCadence = `${next.mode}:${next.intervalMs}`;
          this.log.info('poll_cadence', `reconciling every ${next.intervalMs} ms (${next.mode})`, {
            mode: next.mode,
            interval_ms: next.intervalMs,
          });
        }
      } catch (e) {
        const err = toWorkerError(e);
        this.deps.transient(err);
        this.log.warn('reconcile_failed', err.message, { code: err.code });
        retryAt = Date.now() + backoff.next();
      }
    }
  }

  /**
   * Waits until the next reconcile is due. A wake (the feed's status changed, a stop) or the end of a
   * lengthened period's keep-alive only makes it look again: nothing reconciles before it is due.
   */
  private async untilDue(generation: number, retryAt: number | null): Promise<void> {
    while (generation === this.generation && this.status === 'attached') {
      const now = Date.now();
      const next = this.nextReconcile(now);
      const due = retryAt ?? next.dueAt;
      if (now >= due) return;
      await this.ticker.sleep((retryAt ?? next.wakeAt) - now);
    }
  }

  private nextReconcile(now: number): NextReconcile {
    return nextReconcile(
      {
        realtime: this.realtime,
        keepAliveAt: this.feed?.lastKeepAliveAt ?? null,
        anyActive: [...this.runners.values()].some((r) => r.isActive),
        polling: this.deps.config().polling,
        timing: this.deps.timing,
        lastStartedAt: this.reconciled.startedAt,
        lastEndedAt: this.reconciled.endedAt,
      },
      now,
    );
  }

  /**
   * Full reconcile: list + download every alias, run the state machine on what changed, then tail the items
   * of every active thread. The first view of each thread after a start is its recovery (protocol §6.5).
   */
  private async reconcile(generation: number): Promise<void> {
    if (generation !== this.generation || this.status !== 'attached') return;
    const startedAt = Date.now();
    try {
      await this.reconcileOnce(generation);
    } finally {
      // Any reconcile (the loop's, or a reconnect's) restarts the schedule, failed or not: the loop's own
      // backoff paces the retries of a failing one.
      this.reconciled = { startedAt, endedAt: Date.now() };
    }
  }

  private async reconcileOnce(generation: number): Promise<void> {
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
    const leaving = this.retiring.get(alias);
    if (leaving && envelope) await leaving; // never two runners for one alias
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
      runner = await ThreadRunner.open(alias, this.threadContext(alias));
      this.runners.set(alias, runner);
      this.log.info('thread_discovered', `job thread ${alias} (instance.state ${job?.state ?? 'none'})`, {
        thread: alias,
        state: job?.state ?? null,
      });
    }
    if (!envelope) {
      this.retire(alias, runner, first);
      return;
    }
    // Not awaited: an activation may wait for a slot; the runner orders its own steps.
    void runner.onEnvelope(job, first).catch((e) => this.threadTransient(alias, e));
    this.deps.changed();
  }

  /**
   * A deleted thread: its runner stops the agent (the clean stop, reason `thread_deleted`), shuts down (outbox,
   * thread.log) and is dropped, so it leaves the snapshot and holds nothing. Its local folder stays (§12).
   */
  private retire(alias: string, runner: ThreadRunner, first: boolean): void {
    this.runners.delete(alias);
    const done: Promise<void> = runner
      .onEnvelope(null, first)
      .then(() => runner.shutdown())
      .catch((e: unknown) => this.threadTransient(alias, e))
      .finally(() => {
        if (this.retiring.get(alias) === done) this.retiring.delete(alias);
        this.deps.changed();
      });
    this.retiring.set(alias, done);
    this.log.info('thread_dropped', `thread ${alias} was deleted; its runner is dropped`, { thread: alias });
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

  private threadContext(alias: string): ThreadContext {
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
      ...(d.transcripts ? { transcripts: d.transcripts } : {}),
      timing: d.timing,
      logger: this.log,
      sectionId: this.id,
      ref: this.ref,
      paths: this.jobPaths,
      openOutbox: (name, onFatal, threadLog, onPosted) =>
        this.openOutbox(name, onFatal, threadLog, onPosted, d.timing.postRetryWindowMs),
      activity: (item) => this.activity(item),
      transient: (error) => d.transient(error, alias),
      writeStateFile: d.writeStateFile,
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

  /** protocol §5: the worker object is gone. Agents stop, envelopes stay, no self re-attach. */
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
    await this.sectionLog.close();
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
    this.heartbeat.stop();
    this.ticker.wake();
    const feed = this.feed;
    this.feed = null;
    this.realtime = 'off';
    await feed?.close();
    const runners = [...this.runners.values()];
    this.runners = new Map();
    this.lastSeen = new Map();
    await Promise.all(runners.map((r) => r.shutdown().catch((e) => this.threadTransient(r.alias, e))));
    await Promise.all([...this.retiring.values()]);
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
    // Last: everything above may still log. A later record (a re-attach) opens the file again.
    await this.sectionLog.close();
  }

  // ------------------------------------------------------------------------------------- commands

  runner(alias: string): ThreadRunner | undefined {
    return this.runners.get(alias);
  }

  /** Stops the running turn of one thread (desktop, CLI). */
  async interruptTurn(alias: string, via: 'desktop' | 'cli'): Promise<void> {
    const runner = this.runners.get(alias);
    if (!runner) throw new WorkerError('NOT_FOUND', `No thread ${JSON.stringify(alias)} in this section.`);
    if (!(await runner.interruptTurn(via))) {
      throw new WorkerError('INVALID_STATE', `Thread ${alias} has no running turn to stop.`);
    }
  }

  async revokeGrant(alias: string, rule: string): Promise<void> {
    const runner = this.runners.get(alias);
    if (!runner) throw new WorkerError('NOT_FOUND', `No thread ${JSON.stringify(alias)} in this section.`);
    if (!(await runner.revokeGrant(rule))) {
      throw new WorkerError('NOT_FOUND', `Thread ${alias} has no granted rule ${JSON.stringify(rule)}.`);
    }
  }

  /** Finds the runner with this open prompt and answers it in-process (§9.3). */
  async answerPrompt(promptId: string, answer: PromptAnswer): Promise<AnswerOutcome> {
    for (const runner of this.runners.values()) {
      if (runner.openPromptId === promptId) return runner.answerPrompt(promptId, answer, 'desktop');
    }
    return 'not_open';
  }

  // ------------------------------------------------------------------------------------- snapshot

  view(): SnapshotSection {
    const threads = [...this.runners.values()].map((r) => r.view()).sort((a, b) => byCodeUnit(a.alias, b.alias));
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
      threads,
      stats: threads.reduce((sum, t) => addStats(sum, t.stats), zeroStats()),
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

/** A stable, locale-free order (localeCompare would load ICU's collation data into the worker). */
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
