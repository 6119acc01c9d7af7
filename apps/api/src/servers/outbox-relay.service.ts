import { Inject, Injectable, Logger } from '@nestjs/common';
import { commandMessageId } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import { nowMs } from '../common/clock.js';
import { changedRows } from '../database/sql.js';
import type { AppConfig } from '../config/config.js';
import { NatsService } from '../messaging/nats.service.js';

const BATCH = 100;
/** How long a claimed batch is this replica's to publish before another may take it over. */
const CLAIM_SECONDS = 30;
const PUBLISH_TIMEOUT_MS = 5000;
/** How long the poll leaves a fresh row to the request that wrote it. */
const FAST_PATH_GRACE_SECONDS = 2;

interface OutboxRow { id: string; task_id: string; subject: string; payload: unknown }

/** A command whose outbox row has just been committed. */
export interface CommittedCommand { outboxId: string; taskId: string; /** Nats-Msg-Id (commandMessageId). */ msgId: string; subject: string; payload: string }

/**
 * Publishes committed outbox rows to JetStream with `Nats-Msg-Id` = task id (and attempt), so a retry after a
 * crash between publish and mark is stored once. The request that committed a row hands it over
 * at once (`publishCommitted`: one publish and one statement, no polling latency on the hot
 * path); the batch drain polls as a safety net for rows whose fast path failed, rows of other
 * replicas and rows left behind by a crash; it claims rows with a lease in one statement, so replicas share
 * it and no transaction is ever open while a publish waits on NATS.
 */
@Injectable()
export class OutboxRelayService {
  private readonly logger = new Logger('OutboxRelay');
  private running = false;
  private urgent = true;
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
    this.timer = setInterval(() => this.wake(false), this.config.outboxPollMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.current;
  }

  /**
   * Ask for a drain now; coalesces with a drain already running. A poll (`urgent` false) leaves
   * alone rows younger than a few seconds, which their request's fast path is still publishing.
   */
  wake(urgent = true): void {
    if (this.stopped) return;
    if (urgent) this.urgent = true;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.current = this.drain().finally(() => {
      this.running = false;
    });
  }

  /**
   * Fast path, right after the commit that wrote the row: publish the command we already hold and
   * mark it in one statement, without a batch transaction. If anything fails, the batch drain
   * (woken here, and the poll) takes the row; a double publish is dropped by JetStream's
   * duplicate window (same Nats-Msg-Id).
   */
  publishCommitted(c: CommittedCommand): void {
    if (this.stopped) return;
    void (async () => {
      try {
        await this.nats.js.publish(c.subject, c.payload, { msgID: c.msgId, timeout: PUBLISH_TIMEOUT_MS });
        // The outbox row is locked before the task row (the main update joins on the CTE's output),
        // the same order as the batch drain, so the two can never deadlock.
        await this.ds.query(
          `WITH o AS (UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = $1 AND published_at IS NULL RETURNING task_id)
           UPDATE tasks t
              SET state = CASE WHEN t.state = 'queued' THEN 'dispatched' ELSE t.state END,
                  timings = CASE WHEN t.timings ? 'dispatchedAt' THEN t.timings ELSE t.timings || jsonb_build_object('dispatchedAt', $2::float8) END,
                  updated_at = now()
             FROM o WHERE t.id = o.task_id`,
          [c.outboxId, nowMs()],
        );
      } catch (err) {
        this.logger.warn(`Publishing task ${c.taskId} right after commit failed (the drain retries): ${(err as Error).message}`);
        this.wake();
      }
    })();
  }

  private async drain(): Promise<void> {
    try {
      let more = true;
      while (!this.stopped && (more || this.again)) {
        this.again = false;
        const minAgeSeconds = this.urgent ? 0 : FAST_PATH_GRACE_SECONDS;
        this.urgent = false;
        more = (await this.publishBatch(minAgeSeconds)) === BATCH;
      }
    } catch (err) {
      this.logger.error(`Outbox drain failed (will retry on the next poll): ${(err as Error).message}`);
    }
  }

  /**
   * Claim, commit, publish, mark: never a transaction open across a network call. A batch is claimed in one
   * statement (a lease of `CLAIM_SECONDS`, so another replica or the next drain leaves it alone while it is
   * published, and takes it over if this replica dies), published without any lock held, and the results
   * written in one statement each. A NATS outage then costs the relay its own time only: no row lock and no
   * pooled connection is held while a publish waits.
   */
  private async publishBatch(minAgeSeconds: number): Promise<number> {
    const rows = changedRows<OutboxRow>(await this.ds.query(
      `UPDATE outbox o SET claimed_until = now() + make_interval(secs => $2)
        WHERE o.id IN (SELECT id FROM outbox
                        WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                          AND created_at <= now() - make_interval(secs => $1)
                        ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
        RETURNING o.id, o.task_id, o.subject, o.payload`,
      [minAgeSeconds, CLAIM_SECONDS],
    ));
    if (!rows.length) return 0;
    const results = await Promise.allSettled(
      rows.map(async (r) => {
        const attempt = Number((r.payload as { attempt?: unknown })?.attempt ?? 1);
        await this.nats.js.publish(r.subject, JSON.stringify(r.payload), { msgID: commandMessageId(r.task_id, attempt), timeout: PUBLISH_TIMEOUT_MS });
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
        await this.ds.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_until = NULL WHERE id = $1', [row.id, message.slice(0, 2000)]);
      }
    }
    if (okIds.length) {
      // outbox before tasks, as on the fast path, so the two never deadlock
      await this.ds.query(
        `WITH o AS (
           UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL, claimed_until = NULL
            WHERE id = ANY($1::bigint[]) AND published_at IS NULL RETURNING task_id
         )
         UPDATE tasks t
            SET state = CASE WHEN t.state = 'queued' THEN 'dispatched' ELSE t.state END,
                timings = CASE WHEN t.timings ? 'dispatchedAt' THEN t.timings ELSE t.timings || jsonb_build_object('dispatchedAt', u.at) END,
                updated_at = now()
           FROM unnest($2::uuid[], $3::float8[]) AS u(id, at)
          WHERE t.id = u.id AND t.id IN (SELECT task_id FROM o)`,
        [okIds, okTasks, okAt],
      );
    }
    // Stop draining on failures; the next poll retries.
    return okIds.length === rows.length ? rows.length : 0;
  }
}
