import { nowMs } from '../clock.js';
import type { TaskTimings } from '@oblako/contracts';

/** Collects per-step timings of one command and reports progress as steps begin. */
export class StepRecorder {
  readonly receivedAt: number;
  hypervisorStartedAt: number | undefined;
  hypervisorDoneAt: number | undefined;
  readonly steps: Record<string, number> = {};

  constructor(
    private readonly onProgress: (stage: string, progress: number) => void = () => {},
    receivedAt = nowMs(),
    private readonly onKeepAlive: () => void = () => {},
  ) {
    this.receivedAt = receivedAt;
  }

  progress(stage: string, progress: number): void {
    this.onProgress(stage, Math.max(0, Math.min(100, progress)));
  }

  /** Tell the broker the command is still being worked on (long waits). */
  keepAlive(): void {
    this.onKeepAlive();
  }

  /**
   * Time one step (ms added under `name`). Hypervisor steps also move hypervisorStartedAt
   * (first one's start) and hypervisorDoneAt (last one's end).
   */
  async step<T>(name: string, fn: () => Promise<T>, opts: { hypervisor?: boolean; progress?: number } = {}): Promise<T> {
    if (opts.progress !== undefined) this.progress(name, opts.progress);
    const start = nowMs();
    if (opts.hypervisor && this.hypervisorStartedAt === undefined) this.hypervisorStartedAt = start;
    try {
      return await fn();
    } finally {
      const end = nowMs();
      this.steps[name] = (this.steps[name] ?? 0) + (end - start);
      if (opts.hypervisor) this.hypervisorDoneAt = end;
    }
  }

  timings(finishedAt = nowMs()): TaskTimings {
    return {
      receivedAt: this.receivedAt,
      ...(this.hypervisorStartedAt !== undefined ? { hypervisorStartedAt: this.hypervisorStartedAt } : {}),
      ...(this.hypervisorDoneAt !== undefined ? { hypervisorDoneAt: this.hypervisorDoneAt } : {}),
      finishedAt,
      steps: { ...this.steps },
    };
  }
}
