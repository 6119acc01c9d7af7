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
import { NatsService } from '../messaging/nats.service.js';
import { changedRows } from '../database/sql.js';

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
    @Inject(NatsService) private readonly nats: NatsService,
  ) {}

  async onHeartbeat(nodeId: string, hb: Heartbeat): Promise<void> {
    // the row lock makes one replica (and one heartbeat) the one that sees a new daemon instance
    const [row] = changedRows<{ previous: string | null }>(await this.ds.query(
      `WITH prev AS (SELECT id, daemon_instance FROM nodes WHERE id = $1 FOR UPDATE)
       UPDATE nodes n SET last_heartbeat_at = now(), daemon_version = $2, hypervisor = $3, backup_public_key = coalesce($4, n.backup_public_key),
              daemon_instance = coalesce($5::uuid, n.daemon_instance),
              state = CASE WHEN n.state IN ('offline', 'pending') THEN 'online' ELSE n.state END
         FROM prev WHERE n.id = prev.id
       RETURNING prev.daemon_instance AS previous`,
      [nodeId, hb.daemonVersion, hb.hypervisor, hb.backupPublicKey ?? null, hb.instanceId ?? null],
    ));
    if (hb.instanceId && row?.previous && row.previous !== hb.instanceId) {
      // never holds the beat: the hand-over asks NATS
      void this.redrive(nodeId, hb.instanceId).catch((err: unknown) =>
        this.logger.warn(`Node ${nodeId}: its restarted daemon's commands not handed over again (${(err as Error).message}); JetStream redelivers them after its ack wait`));
    }
    await this.reconcile(nodeId, hb);
    await this.history.record(nodeId, hb).catch((err: unknown) => this.logger.warn(`Heartbeat history of node ${nodeId} not kept: ${(err as Error).message}`));
    // images this node has not checked yet (verified images: the catalogue offers only those); never holds the beat
    void this.images.checkMissing(nodeId).catch((err: unknown) => this.logger.warn(`Image checks for node ${nodeId} failed: ${(err as Error).message}`));
  }

  /**
   * The node's daemon was restarted (a heartbeat with a new instance id) before the node was ever marked offline.
   * Its old process may have died holding commands (delivered, never acknowledged): JetStream would hand them to
   * the new process only when the consumer's 60 s ack wait ran out. Instead they are published again at once and
   * the old copies deleted: the current attempt of every active task on this node, and the commands that are no
   * task (image checks, store deletes, orphan destroys, which are safe to repeat). A task's older attempts and
   * the commands of finished tasks stay where they are. The new process runs a task's attempt once even if it got
   * both copies (finished-tasks.ts); a command it never received is simply delivered once, a little earlier.
   */
  async redrive(nodeId: string, instanceId: string): Promise<number> {
    const tasks: { id: string; attempts: number }[] = await this.ds.query(
      `SELECT id, attempts FROM tasks WHERE node_id = $1 AND state IN ${ACTIVE_TASKS_SQL}`,
      [nodeId],
    );
    const current = new Map(tasks.map((t) => [t.id, t.attempts]));
    const n = await this.nats.redeliverCommands(this.nats.subjects.nodeCommands(nodeId), (p) => {
      const c = p as { taskId?: unknown; attempt?: unknown } | null;
      if (!c || typeof c !== 'object') return false;
      if (c.taskId === undefined) return true;
      return typeof c.taskId === 'string' && current.get(c.taskId) === c.attempt;
    }, instanceId);
    this.logger.log(`Node ${nodeId}: its daemon restarted (instance ${instanceId}); ${n} unacknowledged command(s) handed to the new process at once`);
    return n;
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
