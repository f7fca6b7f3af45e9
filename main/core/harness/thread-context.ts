/**
 * What a ThreadRunner is given: the services every part of the harness shares, the section it belongs to, and
 * its timing bounds. Types only (plus the default timing), so the runner, the section and tests share them.
 */
import type { Logger } from '../log';
import type { WorkerError } from '../errors';
import type { BlobHubApi, PostItemInput, SessionRef, ThreadItem } from '../api/types';
import type { AgentFactory } from '../agents/types';
import type { ThreadLog } from '../agents/thread-log';
import type { WorkerConfig } from '../state/config';
import type { JobPaths } from '../state/paths';
import type { TranscriptHub } from '../transcript/hub';
import type { SlotPool } from './slots';
import type { StateFileWriter } from './local-state';
import { DEFAULT_POST_DEADLINE_MS } from './outbound/outbox';

/** What a thread needs from its outbox (`main/core/harness/outbound`). */
export interface ThreadOutbox {
  enqueue(item: PostItemInput): { emissionId: string; posted: Promise<ThreadItem> };
  drain(timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

export type OutboxFatal = (error: WorkerError) => void;
/** The server confirmed an emission: `emissionId` is stored as `item`. */
export type OutboxPosted = (posted: { emissionId: string; item: ThreadItem }) => void;

/** What every part of the harness shares: the server, the identity, the config, the slots, the agents. */
export interface HarnessServices {
  api: BlobHubApi;
  userId: string;
  config: () => WorkerConfig;
  pool: SlotPool;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  agentFactory: AgentFactory;
  resolveExecutable: (nameOrPath: string, env: NodeJS.ProcessEnv) => string;
  /** Something in the snapshot changed. */
  changed: () => void;
  now: () => Date;
  /** Who watches which thread's transcript (the desktop's thread view, the terminal dashboard); none = nobody. */
  transcripts?: TranscriptHub;
  /** Test seam: writes thread.yaml / section.yaml (default: the atomic YAML writer). */
  writeStateFile?: StateFileWriter;
}

export interface ThreadContext extends HarnessServices {
  /** The section's job id (snapshot key). */
  sectionId: string;
  ref: SessionRef;
  paths: JobPaths;
  openOutbox: (
    alias: string,
    onFatal: OutboxFatal,
    threadLog: ThreadLog,
    onPosted?: OutboxPosted,
  ) => Promise<ThreadOutbox>;
  /** Posts an activity item on the section's `worker` thread. */
  activity: (item: PostItemInput) => void;
  /** A problem that is not the thread's failure: logged by the caller, shown in the warning ribbon. */
  transient: (error: WorkerError) => void;
  timing: ThreadTiming;
}

export interface ThreadTiming {
  /** AgentSession.stop grace before SIGTERM (protocol §6.3: 10 s) and before SIGKILL (5 s). */
  stopGraceMs: number;
  stopKillMs: number;
  /** Graceful shutdown waits this long for a running turn to reach its end before interrupting it. */
  shutdownTurnWaitMs: number;
  /** Graceful shutdown waits this long for the outbox to drain (the rest stays journaled). */
  shutdownDrainMs: number;
  /** protocol §11: an item still failing this long after its first attempt fails the thread (10 min). */
  postRetryWindowMs: number;
}

export const DEFAULT_THREAD_TIMING: ThreadTiming = {
  stopGraceMs: 10_000,
  stopKillMs: 5_000,
  shutdownTurnWaitMs: 5_000,
  shutdownDrainMs: 5_000,
  postRetryWindowMs: DEFAULT_POST_DEADLINE_MS,
};
