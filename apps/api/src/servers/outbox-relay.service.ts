import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import { nowMs } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import { NatsService } from '../messaging/nats.service.js';

const BATCH = 100;

interface OutboxRow { id: string; task_id: string; subject: string; payload: unknown }

/**
 * Publishes committed outbox rows to JetStream with `Nats-Msg-Id` = task id, so a retry after a
 * crash between publish and mark is stored once. Woken right after every commit that wrote an
 * outbox row (no polling latency on the hot path), and polls as a safety net for rows written by
 * other replicas or left behind by a crash. `FOR UPDATE SKIP LOCKED` lets replicas share the work.
 */
@Injectable()
export class OutboxRelayService {
  private readonly logger = new Logger('OutboxRelay');
  private running = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> = Promise.resolve();

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.config.outboxPollMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.current;
  }

  /** Ask for a drain now; coalesces with a drain already running. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.current = this.drain().finally(() => {
      this.running = false;
    });
  }

  private async drain(): Promise<void> {
    try {
      let more = true;
      while (!this.stopped && (more || this.again)) {
        this.again = false;
        more = (await this.publishBatch()) === BATCH;
      }
    } catch (err) {
      this.logger.error(`Outbox drain failed (will retry on the next poll): ${(err as Error).message}`);
    }
  }

  private async publishBatch(): Promise<number> {
    return this.ds.transaction(async (m) => {
      const rows: OutboxRow[] = await m.query(
        `SELECT id, task_id, subject, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
      );
      if (!rows.length) return 0;
      const results = await Promise.allSettled(
        rows.map(async (r) => {
          await this.nats.js.publish(r.subject, JSON.stringify(r.payload), { msgID: r.task_id, timeout: 5000 });
          return nowMs();
        }),
      );
      const okIds: string[] = [];
      const okTasks: string[] = [];
      const okAt: number[] = [];
      for (const [i, res] of results.entries()) {
        const row = rows[i]!;
        if (res.status === 'fulfilled') {
          okIds.push(row.id);
          okTasks.push(row.task_id);
          okAt.push(res.value);
        } else {
          const message = (res.reason as Error)?.message ?? String(res.reason);
          this.logger.warn(`Publishing task ${row.task_id} to ${row.subject} failed: ${message}`);
          await m.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [row.id, message.slice(0, 2000)]);
        }
      }
      if (okIds.length) {
        await m.query('UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])', [okIds]);
        await m.query(
          `UPDATE tasks t
              SET state = CASE WHEN t.state = 'queued' THEN 'dispatched' ELSE t.state END,
                  timings = t.timings || jsonb_build_object('dispatchedAt', u.at),
                  updated_at = now()
             FROM unnest($1::uuid[], $2::float8[]) AS u(id, at)
            WHERE t.id = u.id`,
          [okTasks, okAt],
        );
      }
      // Stop draining on failures; the next poll retries.
      return okIds.length === rows.length ? rows.length : 0;
    });
  }
}
