/**
 * The prompt lifecycle of one thread (protocol §9): an agent's prompt is recorded in thread.yaml before it is
 * posted as `pending_prompt`, answered from a thread reply (§9.2) or the desktop (§9.3), and resolved with one
 * `pending_prompt_resolved` item — `answered`, or `cancelled` with one of the four §9.4 reasons.
 */
import { toWorkerError } from '../errors';
import type { Logger } from '../log';
import type { PostItemInput, ThreadItem } from '../api/types';
import type { AgentPrompt, AgentSession, PromptAnswer } from '../agents/types';
import { parseThreadAnswer, settleScope } from '../agents/answers';
import type { ThreadLog } from '../agents/thread-log';
import type { InboundQueue } from './inbound-queue';
import { itemText } from './inbound';
import type { ThreadStore } from './local-state';
import { pendingPromptItem, promptResolvedItem } from './outbound/items';
import type { OpenPrompt } from './thread-view';
import type { TranscriptInput } from '../transcript/builder';

/** The four reasons of §9.4, and `interrupted`: the user stopped the turn the prompt belonged to. */
export type PromptCancelReason =
  'worker_restart' | 'thread_completed' | 'thread_deleted' | 'agent_exit' | 'interrupted';

/**
 * What became of an answer: handed to the agent, too late (the agent had withdrawn the prompt, or is gone: the
 * prompt is resolved `cancelled`), or not for an open prompt here at all.
 */
export type AnswerOutcome = 'answered' | 'withdrawn' | 'not_open';

/** What the prompt lifecycle uses of its thread runner. */
export interface PromptHost {
  readonly store: ThreadStore;
  readonly threadLog: ThreadLog;
  readonly log: Logger;
  agent(): AgentSession | null;
  inbound(): InboundQueue | null;
  enqueue(item: PostItemInput): { emissionId: string; posted: Promise<ThreadItem> } | null;
  ensureOutbox(): Promise<unknown>;
  /** Runs on the runner's state-machine queue. */
  step<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs on the runner's item-fetch queue. */
  fetch(fn: () => Promise<void>): Promise<void>;
  /** Routes the failure of a chain nobody awaits (the runner's failure path). */
  own(what: string, work: Promise<unknown>): void;
  changed(): void;
  /** Records a prompt's resolution in the thread's transcript. */
  transcript(input: TranscriptInput): void;
}

export class ThreadPrompts {
  private open: OpenPrompt | null = null;

  constructor(private readonly host: PromptHost) {}

  /** The prompt the agent is waiting on, if any. */
  get current(): OpenPrompt | null {
    return this.open;
  }

  /** The agent asked (§9.1): recorded before it is posted, so a restart can cancel it. */
  async onPrompt(prompt: AgentPrompt): Promise<void> {
    const h = this.host;
    this.open = { prompt, postedAt: null };
    await h.store.update((f) => {
      f.open_prompt = {
        id: prompt.id,
        kind: prompt.kind,
        posted_item_id: null,
        created_at: null,
        payload: { ...prompt },
      };
    });
    h.enqueue(pendingPromptItem(prompt))?.posted.then(
      (item) =>
        h.own(
          'prompt posted',
          h.fetch(() => this.onPosted(prompt.id, item)),
        ),
      () => undefined,
    );
  }

  /** The adapter withdrew its prompt. */
  async onWithdrawn(promptId: string, agentReason: string): Promise<void> {
    // Only a prompt still open here: one we answered or cancelled ourselves already has its resolution.
    if (this.open?.prompt.id !== promptId) return;
    await this.clear();
    // protocol §9.4 has four reasons; the agent leaving its own prompt (withdrawn, turn over) is `agent_exit`.
    // The adapter's finer reason stays in thread.log.
    this.host.threadLog.append({
      src: 'worker',
      event: 'prompt_withdrawn',
      prompt_id: promptId,
      agent_reason: agentReason,
    });
    this.host.enqueue(promptResolvedItem({ promptId, resolution: 'cancelled', reason: 'agent_exit' }));
    this.host.transcript({ type: 'prompt_cancelled', promptId, reason: 'agent_exit' });
  }

  /** The desktop's answer (§9.3) or a parsed thread reply (§9.2); runs on the state-machine queue. */
  answer(promptId: string, answer: PromptAnswer, via: 'thread' | 'desktop'): Promise<AnswerOutcome> {
    return this.host.step(() => this.resolve(promptId, answer, via));
  }

  private async resolve(promptId: string, given: PromptAnswer, via: 'thread' | 'desktop'): Promise<AnswerOutcome> {
    const agent = this.host.agent();
    const open = this.open;
    if (open?.prompt.id !== promptId || !agent) return 'not_open';
    // The scope as it really applies (protocol §9.2a): a session answer with nothing to remember is once.
    const answer = settleScope(open.prompt, given);
    const granted = answer.kind === 'approval' && answer.scope === 'session' ? (answer.rules ?? []) : [];
    await this.clear();
    const added = granted.filter((rule) => !this.host.store.value.agent.granted.includes(rule));
    if (granted.length) {
      await this.host.store.update((f) => {
        f.agent.granted = [...new Set([...f.agent.granted, ...granted])];
      });
    }
    // The runner sees the adapter's withdrawal only when that event's turn on the `events` queue comes, so an
    // answer can still find the prompt open here after the agent gave up on it. The adapter is the judge: it
    // refuses an answer for a prompt it no longer has, and that answer is reported as not answered.
    // The adapters settle answerPrompt synchronously (they write the response, or refuse, without waiting), so
    // the item below is still enqueued before anything the answer makes the agent do (§8.1): no agent output
    // (an I/O callback) can run between that settlement and this continuation.
    try {
      await agent.answerPrompt(promptId, answer);
    } catch (e) {
      const err = toWorkerError(e);
      this.host.log.warn('answer_not_delivered', `answer to ${promptId} not delivered: ${err.message}`, {
        code: err.code,
      });
      this.host.threadLog.append({ src: 'worker', event: 'answer_not_delivered', prompt_id: promptId, via });
      this.host.enqueue(promptResolvedItem({ promptId, resolution: 'cancelled', reason: 'agent_exit' }));
      this.host.transcript({ type: 'prompt_cancelled', promptId, reason: 'agent_exit' });
      this.host.changed();
      // The agent never got these rules: they are not granted.
      if (added.length) {
        await this.host.store.update((f) => {
          f.agent.granted = f.agent.granted.filter((rule) => !added.includes(rule));
        });
      }
      return 'withdrawn';
    }
    this.host.enqueue(
      promptResolvedItem({ promptId, resolution: 'answered', answer, answeredVia: via, prompt: open.prompt }),
    );
    this.host.transcript({ type: 'prompt_answered', promptId, answer, via });
    this.host.changed();
    return 'answered';
  }

  async clear(): Promise<void> {
    this.open = null;
    if (this.host.store.value.open_prompt)
      await this.host.store.update((f) => {
        f.open_prompt = null;
      });
  }

  /** Cancels the open (or recorded) prompt with one of the §9.4 reasons. */
  async cancel(reason: PromptCancelReason): Promise<void> {
    const id = this.open?.prompt.id ?? this.host.store.value.open_prompt?.id;
    if (!id) return;
    await this.clear();
    this.host.enqueue(promptResolvedItem({ promptId: id, resolution: 'cancelled', reason }));
    this.host.transcript({ type: 'prompt_cancelled', promptId: id, reason });
  }

  /** Recovery: a prompt a previous run left open is cancelled before the agent can say anything (§6.5). */
  async cancelStale(): Promise<void> {
    if (!this.host.store.value.open_prompt) return;
    await this.host.ensureOutbox();
    await this.cancel('worker_restart');
  }

  /** Removes one granted rule (it stays in force for the running agent; the next spawn leaves it out). */
  async revoke(rule: string): Promise<boolean> {
    if (!this.host.store.value.agent.granted.includes(rule)) return false;
    await this.host.store.update((f) => {
      f.agent.granted = f.agent.granted.filter((r) => r !== rule);
    });
    this.host.changed();
    return true;
  }

  /** A reply queued after the posted prompt answers it (§9.2). */
  answerFromQueue(): void {
    const open = this.open;
    const inbound = this.host.inbound();
    if (!open?.postedAt || !inbound) return;
    const reply = inbound.firstQueuedAfter(open.postedAt);
    if (!reply) return;
    inbound.consume(reply);
    this.host.own(
      'thread answer',
      this.answer(open.prompt.id, parseThreadAnswer(open.prompt, itemText(reply)), 'thread'),
    );
  }

  private async onPosted(promptId: string, item: ThreadItem): Promise<void> {
    if (this.open?.prompt.id !== promptId) return;
    this.open.postedAt = item.created_at;
    await this.host.store.update((f) => {
      if (f.open_prompt?.id === promptId) {
        f.open_prompt.posted_item_id = item.id;
        f.open_prompt.created_at = item.created_at;
      }
    });
    this.answerFromQueue();
  }
}
