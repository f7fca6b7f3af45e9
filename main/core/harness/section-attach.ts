/**
 * Attaching a section to its session (protocol §5: the `worker` object, its owner check, the refusals) and
 * keeping the attachment alive with the heartbeat. The reconcile / change-feed loop is in section-runner.ts.
 */
import { WorkerError, toWorkerError } from '../errors';
import type { Logger } from '../log';
import { isApiError } from '../api/errors';
import type { SessionEvent, SessionRef } from '../api/types';
import type { RealtimeStatus } from '../api/realtime';
import type { JsonRecord } from '../json';
import { Backoff } from '../api/retry';
import type { Ticker } from '../util/ticker';
import { WORKER_ALIAS } from './handoff';
import {
  newWorkerObjectValue,
  touchWorkerObject,
  touchKnownWorkerObject,
  withInstance,
  workerObjectOwner,
  type InstanceBlock,
} from './envelope';
import type { SectionStore } from './local-state';
import type { AttachmentStatus, SectionDeps } from './section-context';

/** What attaching uses of its section runner. */
export interface AttachHost {
  readonly deps: SectionDeps;
  readonly ref: SessionRef;
  readonly log: Logger;
  readonly ticker: Ticker;
  store(): SectionStore;
  /** False once a stop or a newer attach superseded `generation`. */
  isCurrent(generation: number): boolean;
  setStatus(status: AttachmentStatus, error: WorkerError | null): void;
}

/** The errors that refuse a section (it stops; the others go on). Anything else is retried. */
const SECTION_CODES = {
  SESSION_NOT_FOUND: true,
  SECTION_WORKER_OBJECT_MALFORMED: true,
  SESSION_OWNED_BY_DIFFERENT_USER: true,
} as const;

/** protocol §5, in order, retried with backoff on transient trouble. Returns true when attached. */
export async function attachSection(host: AttachHost, generation: number): Promise<boolean> {
  const backoff = new Backoff({ maxMs: host.deps.config().polling.backoff_max_ms });
  for (;;) {
    if (!host.isCurrent(generation)) return false;
    try {
      return await attachOnce(host);
    } catch (e) {
      const err = toWorkerError(e);
      if (err instanceof WorkerError && err.code in SECTION_CODES) {
        await refuse(host, err);
        return false;
      }
      // Transient trouble (retries exhausted): keep trying, the section is not refused for it.
      host.deps.transient(err);
      host.log.warn('attach_retry', `attach failed, retrying: ${err.message}`, { code: err.code });
      await host.ticker.sleep(backoff.next());
    }
  }
}

async function attachOnce(host: AttachHost): Promise<boolean> {
  const { api, userId } = host.deps;
  const ref = host.ref;
  let aliases: string[];
  try {
    aliases = await api.listSessionObjects(ref);
  } catch (e) {
    if (isApiError(e) && (e.status === 404 || e.status === 403)) {
      throw new WorkerError(
        'SESSION_NOT_FOUND',
        `Session ${ref.session_id} was not found or is not accessible (HTTP ${e.status}).`,
      );
    }
    throw e;
  }
  const now = host.deps.now().toISOString();
  const instance: InstanceBlock = {
    instance_id: host.deps.instance.instanceId,
    version: host.deps.instance.version,
    started_at: host.deps.instance.startedAt,
    last_seen_at: now,
    status: 'attached',
  };
  const existing = aliases.includes(WORKER_ALIAS) ? await api.downloadSessionObject(ref, WORKER_ALIAS) : null;
  if (!existing) {
    await api.uploadSessionObject(ref, WORKER_ALIAS, newWorkerObjectValue(userId, instance));
  } else if (existing.value.type !== 'thread') {
    throw new WorkerError(
      'SECTION_WORKER_OBJECT_MALFORMED',
      `The "worker" object of session ${ref.session_id} has value.type ${JSON.stringify(existing.value.type)}, not "thread".`,
    );
  } else {
    const owner = workerObjectOwner(existing);
    if (owner !== userId) {
      throw new WorkerError(
        'SESSION_OWNED_BY_DIFFERENT_USER',
        `Session ${ref.session_id} is held by user ${owner ?? '(none recorded)'}; this worker runs as ${userId}.`,
      );
    }
    await api.uploadSessionObject(ref, WORKER_ALIAS, withInstance(existing.value, { ...instance }));
  }
  await host.store().setAttachment('attached', now);
  host.setStatus('attached', null);
  host.log.info('section_attached', `attached to session ${ref.session_id}`);
  return true;
}

async function refuse(host: AttachHost, error: WorkerError): Promise<void> {
  // The refusal stands even when section.yaml cannot record it (the snapshot and the log still say so).
  await host
    .store()
    .setAttachment('refused', null, { code: error.code, message: error.message })
    .catch((e: unknown) => {
      const err = toWorkerError(e);
      host.log.warn('section_yaml_write_failed', err.message, { code: err.code });
    });
  host.setStatus('refused', error);
  host.log.error('section_refused', error.message, { code: error.code });
}

/** What the heartbeat uses of its section runner. */
export interface HeartbeatHost {
  readonly deps: SectionDeps;
  readonly ref: SessionRef;
  /** True while `generation` is the current attachment and attached. */
  isAttached(generation: number): boolean;
  /** The worker object is gone or no longer ours (runs on the section's work queue). */
  lost(generation: number): Promise<void>;
}

/**
 * The protocol §5 heartbeat: `last_seen_at` on the worker object every `heartbeatMs`, as a read-modify-write.
 *
 * The read is skipped (protocol §4) when the realtime feed vouches that the object is still what we last
 * wrote: the feed has stayed connected since that write, the write's own `session_object_modified` echo
 * came back, and no other modification of `worker` arrived. Echoes are counted, not matched (events carry no
 * author): every write expects one, any event beyond that count means someone else wrote, and an echo
 * still missing at the next beat also means "unknown". Unknown → download, exactly as without realtime.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  /** The attachment (generation) whose heartbeat is between its read and its write: its next tick skips. */
  private beatingGeneration: number | null = null;
  /** The worker object's value as we last wrote it, while the feed vouches for it; null = read it first. */
  private known: JsonRecord | null = null;
  /** Our writes whose `session_object_modified` echo has not arrived yet. */
  private echoes = 0;
  private feed: RealtimeStatus = 'off';
  /** Beats that wrote without reading first (tests and logs). */
  skippedReads = 0;

  constructor(private readonly host: HeartbeatHost) {}

  start(generation: number): void {
    this.stop();
    this.forget();
    this.timer = setInterval(() => void this.beat(generation), this.host.deps.timing.heartbeatMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.forget();
  }

  /** Every realtime event of the section, as it arrives (before the section's work queue). */
  observe(event: SessionEvent): void {
    if ((event.session_object?.alias ?? event.alias) !== WORKER_ALIAS) return;
    if (event.type === 'session_object_modified' && this.echoes > 0) {
      this.echoes -= 1;
      return;
    }
    // Someone else's write, a deletion, or an event type we do not know for `worker`: read it next time.
    this.forget();
  }

  /** The feed connected, dropped or reconnected: events may have been missed, so nothing is vouched for. */
  feedChanged(status: RealtimeStatus): void {
    this.feed = status;
    this.forget();
  }

  private forget(): void {
    this.known = null;
    this.echoes = 0;
  }

  private async beat(generation: number): Promise<void> {
    const { deps, ref } = this.host;
    if (!this.host.isAttached(generation)) return;
    // On a slow server one heartbeat's retries can outlast the period; overlapping read-modify-writes could
    // land out of order (last_seen_at going back) and double the load on a server that is already struggling.
    // A beat left over from an earlier attachment does not hold back this one's.
    if (this.beatingGeneration === generation) return;
    this.beatingGeneration = generation;
    const now = deps.now().toISOString();
    try {
      const vouched = this.feed === 'connected' && this.echoes === 0 ? this.known : null;
      // Counted before the request: the echo can arrive before the upload's answer.
      const expectEcho = (): void => {
        this.echoes = 1;
      };
      const written = vouched
        ? await touchKnownWorkerObject(deps.api, ref, vouched, now, expectEcho)
        : await touchWorkerObject(deps.api, ref, deps.userId, now, expectEcho);
      if (vouched) this.skippedReads += 1;
      if (written.outcome !== 'written') {
        this.forget();
        await this.host.lost(generation);
        return;
      }
      // A write made while the feed was not connected is not vouched for (its echo may never come).
      this.known = this.feed === 'connected' ? written.value : null;
    } catch (e) {
      this.forget();
      deps.transient(toWorkerError(e));
    } finally {
      if (this.beatingGeneration === generation) this.beatingGeneration = null;
    }
  }
}
