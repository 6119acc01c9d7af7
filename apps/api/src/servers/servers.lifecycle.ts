import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { changedRows } from '../database/sql.js';
import { NatsService } from '../messaging/nats.service.js';
import { NodeEventsConsumer } from '../node-events/node-events.consumer.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { ServerEventsBus } from './server-events.bus.js';
import { OutboxRelayService } from './outbox-relay.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { PeriodicJob } from '../common/periodic-job.js';

/** Starts the messaging side after the app is built, in order, and stops it before connections close. */
@Injectable()
export class ComputeLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ComputeLifecycle');
  /** Task timeouts, silent nodes, old outbox rows: each step logs its own failure, so a pass never fails. */
  private readonly sweep = new PeriodicJob({
    everyMs: Math.max(250, Math.min(5000, (this.config.taskTimeoutSeconds * 1000) / 4)),
    pass: () => this.housekeeping(),
    logger: this.logger,
    failed: 'Housekeeping failed',
  });
  private lastPrune = 0;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(OutboxRelayService) private readonly relay: OutboxRelayService,
    @Inject(NodeEventsConsumer) private readonly consumer: NodeEventsConsumer,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.nats.start();
    const nodes: { id: string }[] = await this.ds.query('SELECT id FROM nodes');
    for (const n of nodes) await this.nats.ensureNodeConsumer(n.id);
    this.bus.attach();
    await this.consumer.start();
    this.relay.start();
    this.sweep.start();
    this.logger.log(`Messaging started: ${nodes.length} node consumer(s) ensured, relay and event consumer running`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sweep.stop();
    await this.relay.stop();
    await this.consumer.stop();
    this.bus.detach();
  }

  private async housekeeping(): Promise<void> {
    try {
      const expired = await this.runner.expireStale(this.config.taskTimeoutSeconds);
      if (expired) this.logger.warn(`${expired} task(s) timed out without word from their node`);
    } catch (err) {
      this.logger.warn(`Task timeout sweep failed: ${(err as Error).message}`);
    }
    await this.markSilentNodesOffline();
    await this.pruneOutbox();
  }

  /** Published outbox rows are history after a day (JetStream's duplicate window is minutes). */
  private async pruneOutbox(): Promise<void> {
    if (Date.now() - this.lastPrune < 10 * 60 * 1000) return;
    this.lastPrune = Date.now();
    try {
      await this.ds.query(`DELETE FROM outbox WHERE published_at < now() - interval '1 day'`);
    } catch (err) {
      this.logger.warn(`Outbox pruning failed: ${(err as Error).message}`);
    }
  }

  /** Nodes that have sent heartbeats and then went quiet stop receiving new servers. */
  private async markSilentNodesOffline(): Promise<void> {
    try {
      const offline = changedRows<{ id: string }>(await this.ds.query(
        `UPDATE nodes SET state = 'offline' WHERE state = 'online' AND last_heartbeat_at < now() - make_interval(secs => $1) RETURNING id`,
        [this.config.fleet.nodeOfflineAfterSeconds],
      ));
      for (const { id } of offline) {
        const moved = await this.runner.nodeWentOffline(id, this.config.taskTimeoutSeconds);
        this.logger.warn(`Node ${id} went offline (no heartbeat for ${this.config.fleet.nodeOfflineAfterSeconds} s)${moved ? `; ${moved} create(s) placed again elsewhere` : ''}`);
      }
    } catch (err) {
      this.logger.warn(`Node sweep failed: ${(err as Error).message}`);
    }
  }
}
