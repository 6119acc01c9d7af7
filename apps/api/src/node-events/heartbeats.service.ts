import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Heartbeat } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { HeartbeatHistoryService } from './heartbeat-history.service.js';
import { ImageVerificationService } from '../images/image-verification.service.js';
import { ACTIVE_TASKS_SQL } from '../operations/active-tasks.js';
import { DOMAIN_HOLDING_STATES_SQL, LOST_REASON, TaskRunner } from '../operations/task-runner.service.js';
import { NodeOrphansService } from './orphans.service.js';

/**
 * A node's heartbeat (core NATS, validated by the consumer): the node is alive (a `pending` or `offline` node turns
 * `online`), and what it runs. Reconciliation: every server placed on the node in a state that holds a domain
 * (running, stopped, paused, suspended) and not the subject of a task is compared with the heartbeat's domain list.
 * One missing is marked with the time it was first missed; a server missing for longer than the grace period
 * turns `error` ("the hypervisor lost this server") through the runner. A task running, or one that finished after
 * the heartbeat was taken (a create finishing while the node listed its domains), clears the mark: no false alarm.
 * Domains it lists that it should no longer hold are orphans (orphans.service.ts).
 */
@Injectable()
export class HeartbeatsService {
  private readonly logger = new Logger('Reconciliation');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(NodeOrphansService) private readonly orphans: NodeOrphansService,
    @Inject(ImageVerificationService) private readonly images: ImageVerificationService,
    @Inject(HeartbeatHistoryService) private readonly history: HeartbeatHistoryService,
  ) {}

  async onHeartbeat(nodeId: string, hb: Heartbeat): Promise<void> {
    await this.ds.query(
      `UPDATE nodes SET last_heartbeat_at = now(), daemon_version = $2, hypervisor = $3, backup_public_key = coalesce($4, backup_public_key),
              state = CASE WHEN state IN ('offline', 'pending') THEN 'online' ELSE state END
        WHERE id = $1`,
      [nodeId, hb.daemonVersion, hb.hypervisor, hb.backupPublicKey ?? null],
    );
    await this.reconcile(nodeId, hb);
    await this.history.record(nodeId, hb).catch((err: unknown) => this.logger.warn(`Heartbeat history of node ${nodeId} not kept: ${(err as Error).message}`));
    // images this node has not checked yet (verified images: the catalogue offers only those); never holds the beat
    void this.images.checkMissing(nodeId).catch((err: unknown) => this.logger.warn(`Image checks for node ${nodeId} failed: ${(err as Error).message}`));
  }

  private async reconcile(nodeId: string, hb: Heartbeat): Promise<void> {
    const listed = hb.domains.map((d) => d.serverId);
    // The heartbeat's own time (the node's clock), never later than ours.
    const takenAt = new Date(Math.min(hb.at, Date.now()));
    await this.ds.query(
      `WITH c AS (
         SELECT s.id, (s.id = ANY($2::uuid[]) OR EXISTS (
                  SELECT 1 FROM tasks t WHERE t.server_id = s.id AND (t.state IN ${ACTIVE_TASKS_SQL} OR t.finished_at > $3::timestamptz))) AS present
           FROM servers s
          WHERE s.node_id = $1 AND s.state IN ${DOMAIN_HOLDING_STATES_SQL}
       )
       UPDATE servers s SET domain_missing_since = CASE WHEN c.present THEN NULL ELSE now() END
         FROM c WHERE s.id = c.id AND c.present = (s.domain_missing_since IS NOT NULL)`,
      [nodeId, listed, takenAt],
    );
    const grace = this.config.fleet.lostDomainGraceSeconds;
    const lost: { id: string }[] = await this.ds.query(
      `SELECT id FROM servers WHERE node_id = $1 AND domain_missing_since IS NOT NULL AND domain_missing_since < now() - make_interval(secs => $2)
          AND state IN ${DOMAIN_HOLDING_STATES_SQL} AND NOT (id = ANY($3::uuid[]))`,
      [nodeId, grace, listed],
    );
    for (const { id } of lost) {
      if (await this.runner.markLost(nodeId, id, grace)) this.logger.warn(`Server ${id}: node ${nodeId} has reported no domain for it for over ${grace} s; ${LOST_REASON}`);
    }
    // the other way round: domains it lists that it should no longer hold
    await this.orphans.reconcile(nodeId, listed, takenAt, grace);
  }
}
