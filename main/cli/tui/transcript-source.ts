/**
 * The dashboard's transcript source for a running WorkerHost: the selected thread's `thread.log`, followed
 * live (thread-log-transcript.ts).
 */
import type { WorkerHost } from '../../core/host';
import { tailThreadLog } from './thread-log-transcript';
import type { TranscriptSource } from './transcript';
import { findThread } from './view-model';

export function hostTranscripts(host: WorkerHost): TranscriptSource {
  return {
    subscribe(key, limit, listener) {
      const found = findThread(host.snapshot(), key);
      if (!found) {
        listener([]);
        return () => undefined;
      }
      return tailThreadLog(found.thread.thread_log, limit, listener);
    },
  };
}
