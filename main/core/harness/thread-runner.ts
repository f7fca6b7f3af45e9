/**
 * One job thread: the handoff state machine of protocol §6 for one alias, the agent it runs, and the bridge
 * between the two (outbound through the thread's Outbox, inbound through an InboundQueue). Its prompts (§9) are
 * in thread-prompts.ts, its snapshot view in thread-view.ts, what it is given in thread-context.ts.
 *
 * Concurrency model: state-machine steps (envelope changes, activation, stop, failure) run one at a time on
 * `steps`; agent events run one at a time, in the order the agent emitted them, on `events`, so the items they
 * become are enqueued in emission order; item fetches run one at a time on `fetches`.
 *
 * Over 400 lines on purpose: the state machine and the agent bridge share the phase, the agent and the three
 * queues above; a split would put one ordering rule in two files.
 */
import { existsSync } from 'node:fs';
import { WorkerError, toWorkerError } from '../errors';
import type { Logger } from '../log';
import { newUuid } from '../ids';
import type { PostItemInput, ThreadItem } from '../api/types';
import type { AgentEvent, AgentSession, PromptAnswer } from '../agents/types';
import { ThreadLog } from '../agents/thread-log';
import { rotationOf } from '../state/config';
import type { ThreadState } from '../state/schemas';
import type { SnapshotPrompt, SnapshotThread } from '../snapshot';
import { SerialQueue } from '../util/serial-queue';
import { settleWithin } from '../util/timeout';
import { ThreadTranscript } from '../transcript/thread-transcript';
import { threadKey } from '../transcript/hub';
import { runChecklist, parseJob, type Job, type ResolvedSettings } from './handoff';
import { writeInstanceState } from './envelope';
import { InboundQueue } from './inbound-queue';
import { coalesceTurn, isSelf, isStopCommand } from './inbound';
import { ThreadStore } from './local-state';
import { nextSeenOrder } from './slots';
import {
  itemFromAgentEvent,
  statusItem,
  threadActivatedItem,
  threadFailedItem,
  threadStoppedItem,
} from './outbound/items';
import type { ThreadContext, ThreadOutbox } from './thread-context';
import { ThreadPrompts, type AnswerOutcome } from './thread-prompts';
import { promptView, threadView, type Phase } from './thread-view';

/** When (and in which order) an envelope was observed: the FIFO key of the slot pool (protocol §6.2 step 5). */
interface Seen {
  at: number;
  order: number;
}

/** Safety bound on one inbound tail (pages × server page size items). */
const MAX_PAGES_PER_FETCH = 1000;

export class ThreadRunner {
  private phase: Phase = 'idle';
  private serverState: string | null = null;
  private settings: ResolvedSettings | null = null;
  private agent: AgentSession | null = null;
  private unsubscribeAgent: (() => void) | null = null;
  private outbox: ThreadOutbox | null = null;
  private inbound: InboundQueue | null = null;
  private turnRunning = false;
  private stopping = false;
  /** Set by shutdown: no further state-machine step starts anything. */
  private closed = false;
  private lastEvent: { kind: string; at: string } | null = null;
  /** The newest confirmed emission not yet in thread.yaml, and the write that records it (coalesced). */
  private outboundPending: { last_emission_id: string; last_item_id: string } | null = null;
  private outboundWrite: Promise<void> | null = null;
  private readonly steps = new SerialQueue();
  private readonly events = new SerialQueue();
  private readonly fetches = new SerialQueue();
  readonly log: Logger;
  private readonly prompts: ThreadPrompts;

  private constructor(
    readonly alias: string,
    private readonly ctx: ThreadContext,
    readonly store: ThreadStore,
    readonly threadLog: ThreadLog,
    /** What the thread view and the terminal dashboard show (main/core/transcript). */
    readonly transcript: ThreadTranscript,
  ) {
    this.log = ctx.logger.child({ thread: alias });
    this.prompts = new ThreadPrompts({
      store,
      threadLog: this.threadLog,
      log: this.log,
      agent: () => this.agent,
      inbound: () => this.inbound,
      enqueue: (item) => this.enqueue(item),
      ensureOutbox: () => this.ensureOutbox(),
      step: (fn) => this.steps.run(fn),
      fetch: (fn) => this.fetches.run(fn),
      own: (what, work) => this.own(what, work),
      changed: () => this.ctx.changed(),
      transcript: (input) => this.transcript.record(input),
    });
  }

  static async open(alias: string, ctx: ThreadContext): Promise<ThreadRunner> {
    const { store, error, movedTo } = await ThreadStore.open(
      ctx.paths.threadYaml(alias),
      alias,
      () => ctx.now().toISOString(),
      ctx.writeStateFile,
    );
    // One writer per thread.log, shared by the transcript and the runner (closed by shutdown): a second one
    // kept its own descriptor open after every runner's end and rotated the file under the other's feet.
    const log = ctx.logger.child({ thread: alias });
    const threadLog = new ThreadLog(ctx.paths.threadLog(alias), {
      rotation: rotationOf(ctx.config().logs),
      onProblem: (p) =>
        p.event === 'log_write_failed'
          ? log.warn('thread_log_write_failed', p.message, { code: 'STATE_IO_ERROR', path: p.path, errno: p.errno })
          : log.info('thread_log_recovered', p.message, { path: p.path, lost: p.lost }),
    });
    // Numbering and totals continue from the entries an earlier run recorded in thread.log.
    const key = threadKey(ctx.sectionId, alias);
    const transcript = await ThreadTranscript.open({
      log: threadLog,
      publish: (entries) => ctx.transcripts?.publish(key, entries),
      now: ctx.now,
    });
    const runner = new ThreadRunner(alias, ctx, store, threadLog, transcript);
    if (error) {
      const where = movedTo ? `moved aside to ${movedTo}` : 'could not be moved aside';
      runner.log.warn('thread_yaml_invalid', `thread.yaml ignored (${where}): ${error.message}`, {
        code: 'STATE_FILE_INVALID',
        moved_to: movedTo ?? null,
      });
    }
    return runner;
  }

  private get key(): string {
    return `${this.ctx.sectionId}/${this.alias}`;
  }

  /** True while an agent runs or is about to (the section polls faster then). */
  get isActive(): boolean {
    return this.phase === 'active' || this.phase === 'starting';
  }

  get openPromptId(): string | null {
    return this.prompts.current?.prompt.id ?? null;
  }

  // ------------------------------------------------------------------------------------ state machine

  /**
   * A new view of the envelope (`null` = deleted). `recovery` marks the first view after a start: the
   * combinations of protocol §6.5 apply instead of the live transitions.
   */
  onEnvelope(job: Job | null, recovery = false): Promise<void> {
    // Stamped now, not when the step runs or the checklist is done: the pool is FIFO by the time `pending` was seen.
    const seen: Seen = { at: this.ctx.now().getTime(), order: nextSeenOrder() };
    return this.steps
      .run(async () => {
        if (this.closed) return;
        await (recovery ? this.recover(job, seen) : this.transition(job, seen));
      })
      .catch((e: unknown) => this.unexpected('envelope change', e));
  }

  // ------------------------------------------------------------------------------ failure routing

  /**
   * Every chain the runner starts and does not await goes through here: its failure fails the thread (a named
   * code in thread.yaml and the snapshot, the envelope `failed`, an activity item, the slot released), or, when
   * the thread is not running, is a transient problem (logged with its code, shown in the ribbon). Never an
   * unhandled rejection.
   */
  private own(what: string, work: Promise<unknown>): void {
    work.catch((e: unknown) => this.unexpected(what, e));
  }

  private unexpected(what: string, e: unknown): void {
    const err = toWorkerError(e);
    this.log.error('thread_work_failed', `${what} failed: ${err.message}`, { code: err.code });
    if (this.closed) {
      this.ctx.transient(err);
      return;
    }
    this.steps
      .run(async () => {
        if (this.phase !== 'idle' && !this.closed) await this.fail(err);
        else this.ctx.transient(err);
      })
      .catch((e2: unknown) => {
        // fail() records what it can and logs the rest; this is the last resort.
        const last = toWorkerError(e2);
        this.log.error('thread_fail_incomplete', last.message, { code: last.code });
        this.ctx.transient(last);
      });
  }

  private async transition(job: Job | null, seen: Seen): Promise<void> {
    this.serverState = job?.state ?? null;
    const running = this.phase !== 'idle';
    if (!job) {
      if (running) await this.stopRunning('thread_deleted', 'completed');
      return;
    }
    switch (job.state) {
      case 'pending':
        if (!running) await this.activate(job, false, seen);
        return; // already on it (a user re-setting pending while active is ignored)
      case 'completed':
        if (running) await this.stopRunning('thread_completed', 'completed');
        else if (this.store.value.agent.state === 'active') await this.settleLocal('completed', 'thread_completed');
        return;
      case 'failed':
        // The worker never sees its own `failed` here while running (it goes idle first): this is a user's.
        if (running) await this.stopRunning('thread_failed', 'failed');
        return;
      default:
        return; // `active` is ours (or another client's business); unknown states are ignored.
    }
  }

  /** protocol §6.5, per thread, on the first reconcile after a start. */
  private async recover(job: Job | null, seen: Seen): Promise<void> {
    this.serverState = job?.state ?? null;
    if (!job) return;
    // Items a crashed run journaled but never posted go out now, whatever the thread does next (§8.3).
    if (existsSync(this.ctx.paths.threadOutbox(this.alias))) await this.ensureOutbox();
    const local = this.store.existed ? this.store.value.agent : null;
    if (job.state === 'pending') return this.activate(job, false, seen);
    if (job.state === 'completed' || job.state === 'failed') {
      if (local?.state === 'active') await this.settleLocal(job.state, 'worker_restart');
      return;
    }
    if (job.state !== 'active') return;
    if (local?.state === 'active' && local.agent_session_id) return this.activate(job, true, seen);
    if (local?.state === 'failed' && local.error.code) {
      // Our `failed` write never landed (crash in between): say it again, keep the recorded error.
      await this.writeState('failed');
      return;
    }
    await this.fail(
      new WorkerError(
        'AGENT_CRASHED',
        'The worker has no local record of this thread to resume (thread.yaml missing).',
      ),
    );
  }

  /**
   * Checklist steps 1–4, then a slot; the rest runs when the slot is granted. `resume` = recovery of a
   * thread both views say was running: resume its session or fail with AGENT_CRASHED, never start fresh.
   */
  private async activate(job: Job, resume: boolean, seen: Seen): Promise<void> {
    this.phase = 'validating';
    this.ctx.changed();
    await this.prompts.cancelStale(); // no agent runs here, so any recorded prompt is stale
    let settings: ResolvedSettings;
    try {
      settings = await runChecklist(job.metadata, this.ctx.config(), (n) =>
        this.ctx.resolveExecutable(n, this.ctx.env),
      );
    } catch (e) {
      await this.fail(toWorkerError(e));
      return;
    }
    this.settings = settings;
    this.phase = 'queued';
    this.ctx.changed();
    this.log.info('thread_queued', 'waiting for an agent slot', { queued: this.ctx.pool.queued.length });
    this.ctx.pool.request({
      key: this.key,
      seenAt: seen.at,
      order: seen.order,
      grant: () =>
        this.own(
          'activation',
          this.steps.run(() => this.onSlot(resume)),
        ),
    });
  }

  private async onSlot(resume: boolean): Promise<void> {
    if (this.phase !== 'queued' || this.closed) {
      this.ctx.pool.release(this.key);
      return;
    }
    // The envelope may have changed while we waited: act on its current content only.
    let job: Job | null = null;
    try {
      job = parseJob(await this.ctx.api.downloadSessionObject(this.ctx.ref, this.alias));
    } catch (e) {
      this.log.warn('envelope_download_failed', toWorkerError(e).message, { code: toWorkerError(e).code });
    }
    const expected = resume ? 'active' : 'pending';
    if (!job || job.state !== expected) {
      this.ctx.pool.release(this.key);
      this.phase = 'idle';
      this.ctx.changed();
      if (job) await this.transition(job, { at: this.ctx.now().getTime(), order: nextSeenOrder() });
      else if (this.store.value.agent.state === 'active') await this.settleLocal('completed', 'thread_deleted');
      return;
    }
    try {
      this.settings = await runChecklist(job.metadata, this.ctx.config(), (n) =>
        this.ctx.resolveExecutable(n, this.ctx.env),
      );
    } catch (e) {
      await this.fail(toWorkerError(e));
      return;
    }
    await this.startAgent(this.settings, resume);
  }

  /** Step 6 (and recovery's resume): thread.yaml, spawn, session id, envelope, activity item, first turn. */
  private async startAgent(settings: ResolvedSettings, resume: boolean): Promise<void> {
    this.phase = 'starting';
    this.stopping = false;
    this.ctx.changed();
    const prior = this.store.value;
    const resumeId =
      prior.agent.agent_session_id && prior.workspace.agent_type === settings.agentType
        ? prior.agent.agent_session_id
        : null;
    const freshId = (): string | null => (settings.agentType === 'claude_code' ? newUuid() : null);
    let newSessionId = resumeId ? null : freshId();

    await this.store.update((f) => {
      f.workspace = { work_folder: settings.workFolder, agent_type: settings.agentType };
      f.agent.state = 'active';
      f.agent.resolved = {
        executable: settings.executablePath,
        model: settings.model,
        effort: settings.effort,
        permissions: settings.permissions,
      };
      f.agent.error = { code: null, message: null, at: null };
      if (newSessionId) f.agent.agent_session_id = newSessionId;
      if (!resume && prior.workspace.agent_type !== settings.agentType) f.agent.agent_session_id = newSessionId;
    });
    await this.ensureOutbox();

    let agent: AgentSession;
    try {
      agent = await this.spawn(settings, resumeId, newSessionId);
    } catch (e) {
      const err = toWorkerError(e, 'AGENT_CRASHED');
      // No turn of this thread ever ended (no inbound cursor): the agent never wrote a session to resume (a stop
      // or reload during its first turn), so starting fresh loses nothing and the first turn is replayed.
      const neverTurned = this.store.value.cursors.inbound === null;
      if ((resume && !neverTurned) || !resumeId) {
        await this.fail(
          resume
            ? new WorkerError('AGENT_CRASHED', `Resuming agent session ${resumeId ?? '(none)'} failed: ${err.message}`)
            : err,
        );
        return;
      }
      // A stale resume pointer on a fresh handoff: start over and say so in the thread.
      this.log.warn('resume_failed', `resume of ${resumeId} failed; starting fresh: ${err.message}`, {
        code: err.code,
      });
      newSessionId = freshId();
      try {
        agent = await this.spawn(settings, null, newSessionId);
      } catch (e2) {
        await this.fail(toWorkerError(e2, 'AGENT_CRASHED'));
        return;
      }
      this.enqueue(
        statusItem('resume_failed_started_fresh', `Could not resume session ${resumeId}; started a fresh session.`),
      );
      this.transcript.record({ type: 'status', status: 'resume_failed_started_fresh', detail: resumeId });
    }

    const sessionId = agent.sessionId ?? newSessionId;
    await this.store.update((f) => {
      f.agent.agent_session_id = sessionId;
    });
    if (this.closed) {
      await this.stopAgent(false); // shut down while starting: the next start resumes it
      return;
    }

    if (!resume) {
      const outcome = await this.writeState('active', (s) => s === 'pending');
      if (outcome !== 'written') {
        // The user changed the state (or deleted the thread) while we started: their choice wins.
        this.log.info('activation_superseded', `envelope changed during activation (${outcome})`);
        this.phase = 'active';
        const latest =
          outcome === 'missing'
            ? null
            : parseJob(await this.ctx.api.downloadSessionObject(this.ctx.ref, this.alias).catch(() => null));
        await this.stopRunning(
          latest ? 'thread_superseded' : 'thread_deleted',
          latest?.state === 'failed' ? 'failed' : 'completed',
        );
        return;
      }
      this.serverState = 'active';
      this.ctx.activity(threadActivatedItem(this.alias, settings.agentType, sessionId));
    }
    this.phase = 'active';
    this.transcript.record({
      type: 'status',
      status: resume ? 'agent_resumed' : 'agent_started',
      detail: `${settings.agentType} · session ${sessionId ?? 'unknown'}`,
    });
    this.inbound = new InboundQueue(this.store.value.cursors.inbound, (item) => isSelf(item, this.ctx.userId));
    this.ctx.changed();
    this.log.info('thread_active', `agent running (${settings.agentType}, session ${sessionId ?? 'unknown'})`, {
      resume,
    });
    await this.pollItems();
  }

  private async spawn(
    settings: ResolvedSettings,
    resumeId: string | null,
    newSessionId: string | null,
  ): Promise<AgentSession> {
    const agent = this.ctx.agentFactory(settings.agentType, {
      executable: settings.executablePath,
      cwd: settings.workFolder,
      permissions: settings.permissions,
      model: settings.model,
      effort: settings.effort,
      resumeSessionId: resumeId,
      newSessionId,
      // Protocol §9.2a: a resumed Claude session gets its granted rules back; see grantsForSpawn.
      grantedRules: await this.grantsForSpawn(settings, resumeId),
      logFile: this.ctx.paths.threadLog(this.alias),
      threadLog: this.threadLog,
      env: this.ctx.env,
      logger: this.log,
    });
    const unsubscribe = agent.onEvent((event) =>
      this.own(
        `agent event ${event.type}`,
        this.events.run(() => this.onAgentEvent(agent, event)),
      ),
    );
    try {
      await agent.start();
    } catch (e) {
      unsubscribe();
      await agent.stop({ graceMs: 0, killMs: 1000 }).catch(() => undefined);
      throw e;
    }
    this.agent = agent;
    this.unsubscribeAgent = unsubscribe;
    this.turnRunning = false;
    return agent;
  }

  /**
   * The rules to hand to a new agent process. Claude takes them back with `--allowedTools` when it resumes the
   * session they were granted in; a fresh session starts with none, and Codex cannot take them at all (its
   * session approvals live in the app-server process), so the record is cleared and the agent asks again.
   */
  private async grantsForSpawn(settings: ResolvedSettings, resumeId: string | null): Promise<string[]> {
    const granted = this.store.value.agent.granted;
    if (settings.agentType === 'claude_code' && resumeId) return [...granted];
    if (granted.length) {
      this.threadLog.append({ src: 'worker', event: 'grants_cleared', rules: granted, agent: settings.agentType });
      await this.store.update((f) => {
        f.agent.granted = [];
      });
    }
    return [];
  }

  // ----------------------------------------------------------------------------------- agent → thread

  private async onAgentEvent(agent: AgentSession, event: AgentEvent): Promise<void> {
    if (agent !== this.agent && event.type !== 'exit') return; // a previous agent's leftovers
    this.lastEvent = { kind: event.type, at: this.ctx.now().toISOString() };
    // Withdrawn prompts are recorded by the prompt lifecycle, which decides whether the withdrawal counts.
    if (event.type !== 'prompt_cancelled') this.transcript.record({ type: 'agent', event });
    switch (event.type) {
      case 'session':
        if (event.sessionId !== this.store.value.agent.agent_session_id) {
          await this.store.update((f) => {
            f.agent.agent_session_id = event.sessionId;
          });
        }
        break;
      case 'prompt':
        await this.prompts.onPrompt(event.prompt);
        break;
      case 'prompt_cancelled':
        await this.prompts.onWithdrawn(event.promptId, event.reason);
        break;
      case 'turn_end':
        this.enqueueEvent(event);
        await this.onTurnEnd();
        break;
      case 'exit':
        if (agent !== this.agent || event.expected || this.stopping) break;
        this.own(
          'agent exit',
          this.steps.run(() => this.onCrash(agent, event)),
        );
        break;
      default:
        this.enqueueEvent(event);
    }
    this.ctx.changed();
  }

  private enqueueEvent(event: AgentEvent): void {
    const item = itemFromAgentEvent(event);
    if (item) this.enqueue(item);
  }

  private enqueue(item: PostItemInput): { emissionId: string; posted: Promise<ThreadItem> } | null {
    if (!this.outbox) {
      // No outbox: the thread is not active (or its outbox just failed). thread.log still has the event.
      this.log.warn('enqueue_dropped', `no outbox for ${this.alias}; the event stays in thread.log only`, {
        kind: item.metadata?.type ?? null,
      });
      return null;
    }
    try {
      const handle = this.outbox.enqueue(item);
      handle.posted.catch(() => undefined); // failures surface through onFatal
      return handle;
    } catch (e) {
      // Closed (shutting down) or the journal cannot be written: logged, the thread.log keeps the event.
      this.log.warn('enqueue_failed', toWorkerError(e).message, { code: toWorkerError(e).code });
      return null;
    }
  }

  private async onTurnEnd(): Promise<void> {
    this.turnRunning = false;
    if (this.prompts.current) await this.prompts.cancel('agent_exit'); // the turn ended without using the answer
    // A turn cut short by our own shutdown is delivered again after the restart (§6.5).
    if (this.stopping) return;
    const cursor = this.inbound?.finishTurn();
    if (cursor)
      await this.store.update((f) => {
        f.cursors.inbound = cursor;
      });
    await this.fetches.run(() => this.deliver());
  }

  private async onCrash(agent: AgentSession, event: Extract<AgentEvent, { type: 'exit' }>): Promise<void> {
    if (agent !== this.agent || this.phase === 'idle' || this.stopping) return;
    const how = event.signal ? `signal ${event.signal}` : `exit code ${event.code ?? 'unknown'}`;
    const tail = event.lastStderrLine ? `; last stderr: ${event.lastStderrLine}` : '';
    this.agent = null;
    this.unsubscribeAgent?.();
    await this.fail(new WorkerError('AGENT_CRASHED', `The agent process exited unexpectedly (${how})${tail}.`));
  }

  // ----------------------------------------------------------------------------------- thread → agent

  /** Tails the thread from the inbound cursor (InboundQueue.tail: safe on equal stamps), then answers/delivers. */
  pollItems(): Promise<void> {
    return this.fetches.run(async () => {
      const inbound = this.inbound;
      if (this.phase !== 'active' || !inbound) return;
      await inbound.tail(
        (since) =>
          this.ctx.api.listThreadItems(this.ctx.ref, this.alias, {
            ascending: true,
            ...(since ? { created_since: since } : {}),
          }),
        MAX_PAGES_PER_FETCH,
      );
      await this.takeStopCommands(inbound);
      this.prompts.answerFromQueue();
      await this.deliver();
    });
  }

  /**
   * `/stop` items (docs/harness.md): taken out of the queue before anything else can read them (never an answer,
   * never delivered), then the running turn is interrupted.
   */
  private async takeStopCommands(inbound: InboundQueue): Promise<void> {
    const { items, cursor } = inbound.takeCommands(isStopCommand);
    if (items.length === 0) return;
    if (cursor)
      await this.store.update((f) => {
        f.cursors.inbound = cursor;
      });
    this.threadLog.append({ src: 'worker', event: 'stop_command', items: items.map((i) => i.id) });
    const stopped = await this.interruptTurn('thread');
    if (!stopped) this.enqueue(statusItem('nothing_to_stop', 'No turn is running; /stop did nothing.'));
  }

  /**
   * Stops the running turn without ending the thread: an open prompt is cancelled (`interrupted`), the agent gets
   * its interrupt (Claude `interrupt`, Codex `turn/interrupt`) and ends the turn with `turn_end {interrupted}`.
   * The agent process stays; the next message starts a new turn in the same session. False when no turn ran.
   */
  interruptTurn(via: 'thread' | 'desktop' | 'cli'): Promise<boolean> {
    return this.steps.run(async () => {
      const agent = this.agent;
      if (this.phase !== 'active' || !agent || (!this.turnRunning && !this.prompts.current)) return false;
      this.threadLog.append({ src: 'worker', event: 'turn_interrupt', via });
      this.log.info('turn_interrupt', `stopping the running turn (from the ${via})`);
      if (this.prompts.current) await this.prompts.cancel('interrupted');
      this.enqueue(statusItem('turn_interrupted', `Stop requested from the ${via}.`));
      try {
        await agent.interrupt();
      } catch (e) {
        const err = toWorkerError(e);
        this.log.warn('interrupt_failed', err.message, { code: err.code });
        throw err;
      }
      return true;
    });
  }

  /** Revokes a rule granted for the session; the running agent keeps it until it is respawned (protocol §9.2a). */
  revokeGrant(rule: string): Promise<boolean> {
    return this.steps.run(() => this.prompts.revoke(rule));
  }

  /** Starts the next turn from everything queued, when the agent is free. */
  private async deliver(): Promise<void> {
    const agent = this.agent;
    if (this.phase !== 'active' || !agent || this.turnRunning || this.prompts.current || !this.inbound) return;
    const items = this.inbound.takeQueued();
    if (items.length === 0) return;
    const text = coalesceTurn(items);
    this.transcript.record({ type: 'human', text, items: items.length });
    this.turnRunning = true;
    this.ctx.changed();
    this.threadLog.append({ src: 'worker', event: 'turn_start', items: items.map((i) => i.id) });
    try {
      await agent.sendTurn(text);
    } catch (e) {
      this.turnRunning = false;
      this.inbound.requeueInflight();
      this.log.warn('send_turn_failed', toWorkerError(e).message, { code: toWorkerError(e).code });
    }
  }

  // ------------------------------------------------------------------------------------------ prompts

  /** The desktop's answer (§9.3) or a parsed thread reply (§9.2). */
  answerPrompt(promptId: string, answer: PromptAnswer, via: 'thread' | 'desktop'): Promise<AnswerOutcome> {
    const outcome = this.prompts.answer(promptId, answer, via);
    // The caller gets the error too; the thread's failure path gets it as well (a write that failed mid-answer).
    this.own('desktop answer', outcome);
    return outcome;
  }

  // ------------------------------------------------------------------------------------- stop & fail

  /** User `completed` / envelope deleted / user `failed`: the clean stop of protocol §6.3. */
  private async stopRunning(reason: string, localState: ThreadState): Promise<void> {
    const wasRunning = this.agent !== null || this.phase === 'starting' || this.phase === 'active';
    this.ctx.pool.cancel(this.key);
    this.phase = 'stopping';
    this.ctx.changed();
    const promptReason = reason === 'thread_deleted' ? 'thread_deleted' : 'thread_completed';
    if (this.prompts.current || this.store.value.open_prompt) await this.prompts.cancel(promptReason);
    await this.stopAgent(true);
    // A thread that never got a slot has nothing local to record (protocol §6.2 step 5: nothing written).
    if (wasRunning || this.store.existed)
      await this.store.update((f) => {
        f.agent.state = localState;
      });
    this.ctx.pool.release(this.key);
    if (wasRunning) {
      this.ctx.activity(threadStoppedItem(this.alias, reason));
      this.transcript.record({ type: 'status', status: 'thread_stopped', detail: reason });
    }
    this.phase = 'idle';
    this.ctx.changed();
    this.log.info('thread_stopped', `thread stopped (${reason})`);
  }

  /** Local-only settle when no agent runs here (e.g. recovery found the user completed it meanwhile). */
  private async settleLocal(
    state: 'completed' | 'failed',
    promptReason: 'worker_restart' | 'thread_completed' | 'thread_deleted',
  ): Promise<void> {
    if (this.store.value.open_prompt) {
      await this.ensureOutbox();
      await this.prompts.cancel(promptReason);
    }
    await this.store.update((f) => {
      f.agent.state = state;
    });
    this.ctx.changed();
  }

  /** Thread-level failure (§6.2): thread.yaml first, then the envelope, then the activity item. */
  private async fail(error: WorkerError): Promise<void> {
    this.ctx.pool.cancel(this.key);
    this.phase = 'stopping';
    const at = this.ctx.now().toISOString();
    this.log.error('thread_failed', error.message, { code: error.code });
    this.threadLog.append({ src: 'worker', event: 'thread_failed', code: error.code, message: error.message });
    this.transcript.record({ type: 'failed', code: error.code, message: error.message });
    // Each step records what it can: a local write that fails (a full disk) must not keep the agent alive, hold
    // the slot, or leave the envelope `active`. The in-memory thread.yaml still carries the code for the snapshot.
    if (this.prompts.current || this.store.value.open_prompt)
      await this.prompts.cancel('agent_exit').catch((e: unknown) => this.warnLocal('prompt_cancel_failed', e));
    await this.stopAgent(false);
    await this.store
      .update((f) => {
        f.agent.state = 'failed';
        f.agent.error = { code: error.code, message: error.message, at };
      })
      .catch((e: unknown) => this.warnLocal('thread_yaml_write_failed', e));
    this.ctx.pool.release(this.key);
    this.phase = 'idle';
    this.ctx.changed();
    await this.writeState('failed');
    this.ctx.activity(threadFailedItem(this.alias, { code: error.code, message: error.message }));
  }

  private warnLocal(event: string, e: unknown): void {
    const err = toWorkerError(e);
    this.log.warn(event, err.message, { code: err.code });
  }

  /** RMW of instance.state (§6.4); the worker writes only `active` and `failed`. */
  private async writeState(
    next: 'active' | 'failed',
    expect: (current: unknown) => boolean = (s) => s === 'pending' || s === 'active',
  ): Promise<'written' | 'missing' | 'precondition_failed' | 'error'> {
    try {
      const outcome = await writeInstanceState(this.ctx.api, this.ctx.ref, this.alias, next, expect);
      if (outcome === 'written') this.serverState = next;
      else this.log.info('state_write_skipped', `instance.state ${next} not written (${outcome})`);
      return outcome;
    } catch (e) {
      const err = toWorkerError(e);
      this.log.warn('state_write_failed', `instance.state ${next} not written: ${err.message}`, { code: err.code });
      return 'error';
    }
  }

  private async stopAgent(interrupt: boolean): Promise<void> {
    const agent = this.agent;
    this.stopping = true;
    if (!agent) return;
    if (interrupt && this.turnRunning) await agent.interrupt().catch(() => undefined);
    await agent.stop({ graceMs: this.ctx.timing.stopGraceMs, killMs: this.ctx.timing.stopKillMs }).catch((e) => {
      this.log.warn('agent_stop_failed', toWorkerError(e).message);
    });
    await this.events.idle();
    this.unsubscribeAgent?.();
    this.unsubscribeAgent = null;
    this.agent = null;
    this.turnRunning = false;
    this.inbound?.requeueInflight();
  }

  private async ensureOutbox(): Promise<ThreadOutbox> {
    if (!this.outbox) {
      let opened: ThreadOutbox | null = null; // the failure callback below refers to it
      opened = await this.ctx.openOutbox(
        this.alias,
        (error) => {
          const handled = this.steps.run(async () => {
            if (this.phase !== 'idle' && !this.closed) await this.fail(error);
            // A failed outbox posts nothing more (it only journals). Drop it, so the next activation (the
            // user's reset to pending) opens the journal again and posts the unconfirmed items first.
            if (opened && this.outbox === opened) {
              await opened.close(); // its journal descriptor is released before anything may open the file again
              if (this.outbox === opened) this.outbox = null;
            }
          });
          handled.catch((e: unknown) => {
            const err = toWorkerError(e);
            this.log.error('outbox_fatal_unhandled', err.message, { code: err.code });
            this.ctx.transient(err);
          });
        },
        this.threadLog,
        (posted) => this.noteOutbound(posted.emissionId, posted.item.id),
      );
      this.outbox = opened;
    }
    return this.outbox;
  }

  /**
   * thread.yaml `cursors.outbound` (protocol §12) follows the confirmed emissions. Writes are coalesced: one
   * in flight at a time, each recording the newest confirmation (the outbox journal stays the exactly-once record).
   */
  private noteOutbound(emissionId: string, itemId: string): void {
    this.outboundPending = { last_emission_id: emissionId, last_item_id: itemId };
    if (this.outboundWrite) return;
    this.outboundWrite = (async () => {
      while (this.outboundPending) {
        const next = this.outboundPending;
        this.outboundPending = null;
        await this.store
          .update((f) => {
            f.cursors.outbound = next;
          })
          .catch((e) => {
            this.log.warn('outbound_cursor_write_failed', toWorkerError(e).message, { code: toWorkerError(e).code });
          });
      }
    })().finally(() => {
      this.outboundWrite = null;
    });
  }

  // ------------------------------------------------------------------------------------------ shutdown

  /**
   * Graceful shutdown (and section detach): let a running turn reach its end (bounded), then stop the agent.
   * The envelope and the local `active` state stay, so the next start resumes the thread; an open prompt stays
   * recorded and is cancelled then (an unanswered approval is a denial).
   */
  async shutdown(): Promise<void> {
    this.ctx.pool.cancel(this.key);
    const deadline = Date.now() + this.ctx.timing.shutdownTurnWaitMs;
    while (this.turnRunning && !this.prompts.current && this.agent && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.closed = true;
    // A step stuck on the network must not keep an agent alive: wait for it only so long.
    await settleWithin(this.steps.idle(), this.ctx.timing.shutdownDrainMs);
    // The restart cancels an unanswered prompt (the agent re-asks on resume); stopping the agent denies it.
    if (this.prompts.current) await this.prompts.cancel('worker_restart');
    await this.stopAgent(true);
    if (this.store.existed || this.store.value.agent.state === 'active') await this.store.update(() => undefined);
    this.ctx.pool.release(this.key);
    this.phase = 'idle';
    if (this.outbox) {
      await settleWithin(this.outbox.drain(), this.ctx.timing.shutdownDrainMs);
      await this.outbox.close();
      this.outbox = null;
    }
    await this.outboundWrite;
    this.threadLog.close();
    this.ctx.changed();
  }

  // ------------------------------------------------------------------------------------------ snapshot

  view(): SnapshotThread {
    return threadView({
      alias: this.alias,
      phase: this.phase,
      serverState: this.serverState,
      turnRunning: this.turnRunning,
      openPrompt: this.prompts.current,
      settings: this.settings,
      lastEvent: this.lastEvent,
      file: this.store.value,
      threadLogPath: this.threadLog.path,
      stats: this.transcript.stats,
    });
  }

  promptView(): SnapshotPrompt | null {
    return promptView(this.prompts.current, { sectionId: this.ctx.sectionId, ref: this.ctx.ref, alias: this.alias });
  }

  /** The thread.yaml content the runner holds (what is on disk). */
  get localFile(): ThreadStore['value'] {
    return this.store.value;
  }
}
