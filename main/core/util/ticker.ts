/**
 * A wait that `wake()` ends early (a realtime reconnect, a close). Several loops may sleep on one ticker at
 * once (a section's attach retries and its reconcile wait): each sleep has its own timer, and `wake()` ends
 * every one. A new sleep never ends another's — two loops that did so would wake each other forever through
 * microtasks, and no timer or I/O would ever run again.
 */
export class Ticker {
  private readonly sleepers = new Map<() => void, NodeJS.Timeout>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        const timer = this.sleepers.get(done);
        if (timer) clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      this.sleepers.set(done, setTimeout(done, Math.max(0, ms)));
    });
  }

  wake(): void {
    for (const done of [...this.sleepers.keys()]) done();
  }
}
