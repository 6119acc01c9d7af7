import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TaskResultEvent } from '@oblako/contracts';

/**
 * Results of the commands this daemon finished, by task and attempt, so a command delivered again (the broker's
 * ack wait ran out while the daemon was frozen, a result was published but the ack was lost, the API handed a
 * restarted daemon's commands over again) is answered with the stored result and never run twice. A copy that
 * arrives while the first is still running waits for it. Bounded: the oldest results go first (JetStream
 * redelivers within minutes, not after thousands of commands).
 *
 * With `file`, the results also outlive the process: each is appended (one JSON line, written before the result is
 * published) and read back at start, so a daemon SIGKILLed after it finished a command but before the ack does not
 * run it again when the command comes back to its next process. The file is rewritten with the newest `capacity`
 * results when it holds twice that many lines. A line that cannot be read (a write cut short by the kill) is skipped.
 */
export class FinishedTasks {
  private readonly results = new Map<string, TaskResultEvent>();
  private readonly running = new Map<string, Promise<void>>();
  private lines = 0;

  constructor(
    private readonly capacity = 10_000,
    private readonly file?: string,
    private readonly warn: (message: string, error: unknown) => void = () => undefined,
  ) {
    if (file) this.load(file);
  }

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
    this.keep(key, result);
    if (!this.file) return;
    try {
      appendFileSync(this.file, `${JSON.stringify({ key, result })}\n`);
      if (++this.lines > 2 * this.capacity) this.compact(this.file);
    } catch (err) {
      this.warn('finished command not written to disk; a restart would forget it', err);
    }
  }

  get size(): number {
    return this.results.size;
  }

  private keep(key: string, result: TaskResultEvent): void {
    this.results.delete(key);
    this.results.set(key, result);
    while (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value!);
  }

  private load(file: string): void {
    try {
      mkdirSync(dirname(file), { recursive: true });
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const { key, result } = JSON.parse(line) as { key: unknown; result: TaskResultEvent };
          if (typeof key === 'string' && result && typeof result === 'object') this.keep(key, result);
        } catch {
          // a line cut short by a kill mid-write
        }
      }
      this.compact(file);
    } catch (err) {
      this.warn('finished commands not read from disk', err);
    }
  }

  /** The newest results only, written to a new file that then replaces the old one. */
  private compact(file: string): void {
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, [...this.results].map(([key, result]) => `${JSON.stringify({ key, result })}\n`).join(''));
    renameSync(tmp, file);
    this.lines = this.results.size;
  }
}
