import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PeriodicJob } from '../common/periodic-job.js';

/**
 * How long each level is kept. Raw samples: 26 hours (the 1-hour graph, and the window in which a repeated
 * sample id is recognised; a node's buffer resends within minutes of NATS coming back). 5-minute rows: 8
 * days (the 24-hour graph). Hourly rows: 400 days (the 7- and 30-day graphs). Daily rows: kept (billing, history).
 */
export const USAGE_RETENTION = { raw: '26 hours', '5m': '8 days', '1h': '400 days' } as const;

@Injectable()
export class UsageRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('UsageRetention');
  private readonly job = new PeriodicJob({ everyMs: 3600_000, pass: () => this.prune(), logger: this.logger, failed: 'pruning usage failed' });

  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /** Delete what is past its level's retention (in slices, so no statement holds many locks for long). */
  async prune(): Promise<{ raw: number; rollups: number }> {
    let raw = 0;
    let rollups = 0;
    for (;;) {
      const r = (await this.ds.query(`DELETE FROM usage_samples WHERE ctid = ANY (ARRAY(SELECT ctid FROM usage_samples WHERE to_at < now() - $1::interval LIMIT 20000))`, [USAGE_RETENTION.raw])) as [unknown, number];
      raw += r[1];
      if (r[1] < 20000) break;
    }
    for (const level of ['5m', '1h'] as const) {
      for (;;) {
        const r = (await this.ds.query(`DELETE FROM usage_rollups WHERE ctid = ANY (ARRAY(SELECT ctid FROM usage_rollups WHERE level = $1 AND bucket < now() - $2::interval LIMIT 20000))`, [level, USAGE_RETENTION[level]])) as [unknown, number];
        rollups += r[1];
        if (r[1] < 20000) break;
      }
    }
    return { raw, rollups };
  }
}
