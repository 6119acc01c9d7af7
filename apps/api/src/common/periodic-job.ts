import type { Logger } from '@nestjs/common';

export interface PeriodicJobOptions {
  /** How often a pass runs on its own (the timer is unref'd: it never holds the process up). */
  everyMs: number;
  /** One pass. Tests may call the service's own method for it directly; the job only schedules it. */
  pass: () => Promise<unknown>;
  logger: Logger;
  /** Said before the error's message when a pass fails, e.g. 'Snapshot expiry sweep failed'. */
  failed: string;
  level?: 'warn' | 'error';
}

/**
 * The shape of the API's background passes (sweeps, queue drains): a timer, one pass at a time per replica
 * (a tick or a wake during a pass asks for one more right after it, never a second at once), stopped on
 * shutdown once the pass under way has ended, and a pass that fails is logged and counted, then tried again
 * at the next tick or wake.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  /** Passes that failed since the job was made. */
  failures = 0;

  constructor(private readonly o: PeriodicJobOptions) {}

  /** True before start() and after stop(): a pass that loops over batches checks it between them. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Start the timer (again after a stop is fine); `now`: and run a pass at once. */
  start(opts: { now?: boolean } = {}): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.run(), this.o.everyMs);
    this.timer.unref();
    if (opts.now) void this.run();
  }

  /** No more passes; resolves when the one under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** A pass now, or one more right after the pass under way; resolves when that has ended. Never rejects. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.stopped) return Promise.resolve();
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.o.pass();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.failures++;
        const message = `${this.o.failed}: ${(err as Error).message}`;
        if (this.o.level === 'error') this.o.logger.error(message);
        else this.o.logger.warn(message);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
