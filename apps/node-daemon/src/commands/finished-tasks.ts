import type { TaskResultEvent } from '@oblako/contracts';

/**
 * Results of the commands this daemon finished, by task and attempt, so a command delivered again (the broker's
 * ack wait ran out while the daemon was frozen, a result was published but the ack was lost) is answered with
 * the stored result and never run twice. A copy that arrives while the first is still running waits for it.
 * Bounded: the oldest results go first (JetStream redelivers within minutes, not after thousands of commands).
 */
export class FinishedTasks {
  private readonly results = new Map<string, TaskResultEvent>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly capacity = 10_000) {}

  static key(taskId: string, attempt: number): string {
    return `${taskId}:${attempt}`;
  }

  get(key: string): TaskResultEvent | undefined {
    return this.results.get(key);
  }

  /** The run of this key in progress, if any. */
  inFlight(key: string): Promise<void> | undefined {
    return this.running.get(key);
  }

  /** Mark `key` as running until `work` settles. */
  track(key: string, work: Promise<unknown>): void {
    const done = work.then(
      () => undefined,
      () => undefined,
    );
    this.running.set(key, done);
    void done.then(() => {
      if (this.running.get(key) === done) this.running.delete(key);
    });
  }

  remember(key: string, result: TaskResultEvent): void {
    this.results.delete(key);
    this.results.set(key, result);
    while (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value!);
  }

  get size(): number {
    return this.results.size;
  }
}
