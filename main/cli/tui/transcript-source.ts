/**
 * The dashboard's transcript source over a WorkerHost: the thread's newest page (`threadTranscript`, from
 * memory or the thread's thread.log), then its live entries (`subscribeThread`), merged by seq
 * (docs/desktop.md "Thread view").
 */
import type { WorkerHost } from '../../core/host';
import type { TranscriptEntry } from '../../core/transcript';
import { mergeEntries, type TranscriptSource } from './transcript';
import type { ThreadKey } from './view-model';

export function hostTranscripts(host: WorkerHost, onError: (e: unknown) => void = () => undefined): TranscriptSource {
  return {
    subscribe(key: ThreadKey, limit: number, listener: (entries: TranscriptEntry[]) => void): () => void {
      let held: TranscriptEntry[] = [];
      let closed = false;
      // Subscribe first, then read the page: an entry that lands in between arrives through the subscription
      // and is merged by seq, never lost.
      const early: TranscriptEntry[] = [];
      let loaded = false;
      const unsubscribe = host.subscribeThread(key.sectionId, key.alias, (batch) => {
        if (closed) return;
        if (!loaded) {
          early.push(...batch);
          return;
        }
        held = mergeEntries(held, batch, limit);
        listener(held);
      });
      host.threadTranscript(key.sectionId, key.alias, { limit }).then(
        (page) => {
          if (closed) return;
          loaded = true;
          held = mergeEntries(page.entries, early, limit);
          listener(held);
        },
        (e: unknown) => {
          loaded = true;
          onError(e);
          if (!closed) listener(held);
        },
      );
      return () => {
        closed = true;
        unsubscribe();
      };
    },
  };
}
