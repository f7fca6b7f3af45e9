/**
 * What a SectionRunner is given: the shared harness services plus the section's config, its state paths, the
 * outbox and change-feed factories, and its timing. Types only (plus the default timing).
 */
import type { WorkerError } from '../errors';
import type { Logger } from '../log';
import type { SessionEvent, SessionRef } from '../api/types';
import type { RealtimeStatus } from '../api/realtime';
import type { ThreadLog } from '../agents/thread-log';
import type { SectionConfig } from '../state/config';
import type { StatePaths } from '../state/paths';
import type { SnapshotSection } from '../snapshot';
import type { HarnessServices, OutboxFatal, OutboxPosted, ThreadOutbox, ThreadTiming } from './thread-context';
import type { CadenceTiming } from './cadence';

export interface SectionTiming extends ThreadTiming, CadenceTiming {
  /** protocol §5: 30 s. */
  heartbeatMs: number;
  /** The realtime keep-alive ping (api/realtime.ts), 30 s: well inside `keepAliveFreshMs`. */
  keepAlivePingMs: number;
}

export const DEFAULT_SECTION_TIMING: Omit<SectionTiming, keyof ThreadTiming> = {
  heartbeatMs: 30_000,
  keepAlivePingMs: 30_000,
  realtimeReconcileMs: 60_000,
  realtimeQuietReconcileMs: 300_000,
  keepAliveFreshMs: 60_000,
};

/** A live change feed (the RealtimeClient of `api/realtime.ts`, or a test double). */
export interface ChangeFeed {
  readonly status: RealtimeStatus;
  /**
   * When the live connection last answered a keep-alive (epoch ms), or null. A feed without it never
   * lengthens the safety-net reconcile (protocol §4).
   */
  readonly lastKeepAliveAt?: number | null;
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
  /** After the server confirmed an emission (thread.yaml `cursors.outbound`, protocol §12). */
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
