/**
 * Runs tasks one at a time per key (one server's commands never overlap) and at most `limit`
 * tasks at once overall.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  private running = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Whether a task for this key is queued or running. */
  has(key: string): boolean {
    return this.tails.has(key);
  }

  get size(): number {
    return this.tails.size;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(
      () => this.withSlot(task),
      () => this.withSlot(task),
    );
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  private async withSlot<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiters.shift()?.();
    }
  }

  /** Resolves when every queued task has finished. */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.all([...this.tails.values()]);
  }
}
