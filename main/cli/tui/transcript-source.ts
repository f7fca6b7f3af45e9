/**
 * The dashboard's transcript source over a WorkerHost: the thread's newest page, then its live entries
 * (`threadTranscript` + `subscribeThread`, docs/desktop.md "Thread view"). A core without that API is read
 * from the thread's thread.log instead, re-read when the file grows.
 */
import { statSync } from 'node:fs';
import type { WorkerHost } from '../../core/host';
import {
  readTranscriptFile,
  type TranscriptEntry,
  type TranscriptPage,
  type TranscriptPageOptions,
} from '../../core/transcript';
import { mergeEntries, type TranscriptSource } from './transcript';
import { findThread, type ThreadKey } from './view-model';

interface LiveTranscripts {
  threadTranscript(sectionId: string, alias: string, opts?: TranscriptPageOptions): Promise<TranscriptPage>;
  subscribeThread(sectionId: string, alias: string, listener: (entries: TranscriptEntry[]) => void): () => void;
}

function live(host: WorkerHost): LiveTranscripts | null {
  const h = host as WorkerHost & Partial<LiveTranscripts>;
  return typeof h.threadTranscript === 'function' && typeof h.subscribeThread === 'function'
    ? (h as WorkerHost & LiveTranscripts)
    : null;
}

const POLL_MS = 500;

export function hostTranscripts(host: WorkerHost, onError: (e: unknown) => void = () => undefined): TranscriptSource {
  return {
    subscribe(key: ThreadKey, limit: number, listener: (entries: TranscriptEntry[]) => void): () => void {
      let held: TranscriptEntry[] = [];
      let closed = false;
      const api = live(host);
      if (api) {
        // Subscribe first, then read the page: an entry that lands in between arrives through the subscription
        // and is merged by seq, never lost.
        const early: TranscriptEntry[] = [];
        let loaded = false;
        const unsubscribe = api.subscribeThread(key.sectionId, key.alias, (batch) => {
          if (closed) return;
          if (!loaded) return void early.push(...batch);
          held = mergeEntries(held, batch, limit);
          listener(held);
        });
        api.threadTranscript(key.sectionId, key.alias, { limit }).then(
          (page) => {
            if (closed) return;
            loaded = true;
            held = mergeEntries(page.entries, early, limit);
            listener(held);
          },
          (e: unknown) => {
            loaded = true;
            onError(e);
            listener(held);
          },
        );
        return () => {
          closed = true;
          unsubscribe();
        };
      }
      const path = findThread(host.snapshot(), key)?.thread.thread_log;
      if (!path) {
        listener([]);
        return () => undefined;
      }
      let size = -1;
      let reading = false;
      const poll = (): void => {
        let now: number;
        try {
          now = statSync(path).size;
        } catch {
          now = 0; // no thread.log yet: an empty transcript
        }
        if (now === size || reading) return;
        size = now;
        reading = true;
        void readTranscriptFile(path, { limit })
          .then(
            (page) => {
              if (!closed) listener(mergeEntries([], page.entries, limit));
            },
            (e: unknown) => {
              onError(e);
              if (!closed) listener([]);
            },
          )
          .finally(() => (reading = false));
      };
      poll();
      const timer = setInterval(poll, POLL_MS);
      return () => {
        closed = true;
        clearInterval(timer);
      };
    },
  };
}
