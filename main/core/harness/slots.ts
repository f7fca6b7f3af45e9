/**
 * The one agent-slot pool of the process (protocol §6.2 step 5): `concurrency.max_agents` slots shared by
 * every section, granted FIFO by the time each thread's `pending` was seen. A thread without a slot just waits
 * (it stays `pending` on the server; nothing is written).
 */
export interface SlotRequest {
  /** Unique per thread: `{sectionId}/{alias}`. */
  key: string;
  /** When `pending` was seen (ms); the queue order. */
  seenAt: number;
  /** Breaks ties of equal `seenAt` (several envelopes seen in the same millisecond): lower first. */
  order?: number;
  /** Called once, when the slot is granted. */
  grant: () => void;
}

let seenCounter = 0;

/** A process-wide increasing number: the order in which envelopes were observed. */
export function nextSeenOrder(): number {
  return ++seenCounter;
}

export class SlotPool {
  private readonly holders = new Set<string>();
  private waiting: SlotRequest[] = [];
  private listeners = new Set<() => void>();

  constructor(private maxSlots: number) {}

  get max(): number {
    return this.maxSlots;
  }
  get busy(): number {
    return this.holders.size;
  }
  get queued(): readonly string[] {
    return this.waiting.map((w) => w.key);
  }

  holds(key: string): boolean {
    return this.holders.has(key);
  }

  /** Queues a request; it is granted at once if a slot is free and nobody seen earlier waits. */
  request(req: SlotRequest): void {
    if (this.holders.has(req.key) || this.waiting.some((w) => w.key === req.key)) return;
    this.waiting.push(req);
    this.waiting.sort((a, b) => a.seenAt - b.seenAt || (a.order ?? 0) - (b.order ?? 0));
    this.pump();
  }

  /** Withdraws a queued request (the user changed their mind while it waited). */
  cancel(key: string): void {
    this.waiting = this.waiting.filter((w) => w.key !== key);
  }

  release(key: string): void {
    this.cancel(key);
    if (this.holders.delete(key)) {
      this.pump();
      this.changed();
    }
  }

  /** `reloadConfig` may change max_agents; running agents keep their slots. */
  resize(max: number): void {
    this.maxSlots = max;
    this.pump();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private pump(): void {
    while (this.holders.size < this.maxSlots && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.holders.add(next.key);
      this.changed();
      next.grant();
    }
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
