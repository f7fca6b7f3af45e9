/**
 * Who watches which thread's transcript. A thread publishes every new or changed entry; the hub hands them to
 * that thread's subscribers in batches (one per turn of the event loop, an entry changed twice in a batch sent
 * once), so a thread streaming thousands of items costs its viewers a few calls, not one per item. Threads
 * nobody watches cost nothing here. Subscriptions are by `{sectionId}/{alias}`, so they outlive the thread's
 * runner (a config reload or re-attach makes new runners).
 */
import type { TranscriptEntry } from './schema';

export type TranscriptListener = (entries: TranscriptEntry[]) => void;

export function threadKey(sectionId: string, alias: string): string {
  return `${sectionId}/${alias}`;
}

export class TranscriptHub {
  private readonly listeners = new Map<string, Set<TranscriptListener>>();
  private readonly pending = new Map<string, Map<number, TranscriptEntry>>();
  private scheduled: NodeJS.Immediate | null = null;

  /** @param onListenerError a listener threw: reported, the others still get their entries. */
  constructor(private readonly onListenerError: (error: unknown) => void = () => undefined) {}

  subscribe(key: string, listener: TranscriptListener): () => void {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.listeners.get(key);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(key);
        this.pending.delete(key);
      }
    };
  }

  watched(key: string): boolean {
    return this.listeners.has(key);
  }

  publish(key: string, entries: readonly TranscriptEntry[]): void {
    if (entries.length === 0 || !this.listeners.has(key)) return;
    let batch = this.pending.get(key);
    if (!batch) this.pending.set(key, (batch = new Map<number, TranscriptEntry>()));
    for (const e of entries) {
      batch.delete(e.seq); // re-inserted: a changed entry moves behind the ones after it only in this map
      batch.set(e.seq, e);
    }
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Delivers everything pending now (also used by tests and at shutdown). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [key, batch] of batches) {
      const entries = [...batch.values()].sort((a, b) => a.seq - b.seq);
      for (const listener of this.listeners.get(key) ?? []) {
        try {
          listener(entries);
        } catch (e) {
          this.onListenerError(e);
        }
      }
    }
  }

  close(): void {
    this.flush();
    this.listeners.clear();
  }
}
