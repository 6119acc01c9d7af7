import { Inject, Injectable, Logger } from '@nestjs/common';
import { ORPHAN_DESTROY, OrphanDestroyCommandSchema, WIRE_VERSION, type OrphanReason, type OrphanReport } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { nowMs } from '../common/clock.js';
import { changedRows } from '../database/sql.js';
import { NatsService } from '../messaging/nats.service.js';
import { ACTIVE_TASKS_SQL } from '../operations/active-tasks.js';

/** A node told to destroy an orphan that neither answered nor stopped listing it is told again after this long. */
export const ORPHAN_RETELL_SECONDS = 60;

/**
 * Orphans: domains a node lists in its heartbeat that it should no longer hold. The server lives on another node
 * (a create placed again while this node was silent), or it was deleted. Never an orphan: a server with a task on
 * this node that is still active, or that finished after the heartbeat was taken (a create or delete finishing
 * while the node listed its domains). Each is recorded in `node_orphans`; one still listed after the grace
 * (RECONCILE_GRACE_SECONDS) is re-checked under the server's row lock and the node is told, once (again after
 * {@link ORPHAN_RETELL_SECONDS} if nothing came back), to destroy it: an `orphan_destroy` command on the node's
 * command subject, published after the commit. The node answers with an `orphan.report` ({@link onReport}),
 * audited as `server.orphan_destroyed` (or `server.orphan_refused`, `…_kept`) by `system`. A domain of a server
 * the database does not know at all is recorded as `unknown` for staff and never destroyed automatically.
 */
@Injectable()
export class NodeOrphansService {
  private readonly logger = new Logger('Orphans');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /** Compare what the node listed (taken at `takenAt`) with what it should hold; tell it about orphans past the grace. */
  async reconcile(nodeId: string, listed: string[], takenAt: Date, graceSeconds: number): Promise<void> {
    if (!listed.length) {
      // nothing listed: only forget unresolved, untold records (a told one waits for the node's answer)
      await this.ds.query(`DELETE FROM node_orphans WHERE node_id = $1 AND resolved_at IS NULL AND told_at IS NULL`, [nodeId]);
      return;
    }
    const candidates: { server_id: string; reason: OrphanReason | 'unknown' }[] = await this.ds.query(
      `WITH listed AS (SELECT DISTINCT unnest($2::uuid[]) AS id),
       cand AS (
         SELECT l.id AS server_id, CASE WHEN s.id IS NULL THEN 'unknown' WHEN s.state = 'deleted' THEN 'deleted' ELSE 'elsewhere' END AS reason
           FROM listed l LEFT JOIN servers s ON s.id = l.id
          WHERE (s.id IS NULL OR s.state = 'deleted' OR s.node_id IS DISTINCT FROM $1::uuid)
            AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.server_id = l.id AND t.node_id = $1::uuid
                              AND (t.state IN ${ACTIVE_TASKS_SQL} OR t.finished_at > $3::timestamptz))
       ),
       forgotten AS (
         DELETE FROM node_orphans o WHERE o.node_id = $1 AND o.resolved_at IS NULL AND o.told_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM cand c WHERE c.server_id = o.server_id)
       ),
       seen AS (
         INSERT INTO node_orphans AS o (node_id, server_id, reason) SELECT $1, server_id, reason FROM cand
         ON CONFLICT (node_id, server_id) DO UPDATE SET
           last_seen_at = now(), reason = EXCLUDED.reason,
           -- listed again after it was resolved (e.g. a stale create ran once more): a new orphan
           first_seen_at = CASE WHEN o.resolved_at IS NULL THEN o.first_seen_at ELSE now() END,
           told_at = CASE WHEN o.resolved_at IS NULL THEN o.told_at END,
           outcome = CASE WHEN o.resolved_at IS NULL THEN o.outcome END,
           outcome_message = CASE WHEN o.resolved_at IS NULL THEN o.outcome_message END,
           resolved_at = NULL
         -- a heartbeat taken before the node's answer does not reopen what the answer closed
         WHERE o.resolved_at IS NULL OR o.resolved_at < $3::timestamptz
       )
       SELECT server_id, reason FROM cand`,
      [nodeId, listed, takenAt],
    );
    const due = candidates.filter((c) => c.reason !== 'unknown').map((c) => c.server_id);
    if (!due.length) return;
    const told = await this.ds.transaction(async (m) => {
      // Under the servers' row locks (the runner's placement takes them too): a create placed back on this node
      // commits either before (its task is seen here) or after this, with a later issuedAt the node compares.
      await m.query(`SELECT id FROM servers WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [due]);
      const rows = changedRows<{ server_id: string; reason: OrphanReason; server_node_id: string | null; first_seen_at: Date }>(await m.query(
        `UPDATE node_orphans o SET told_at = now(), told_count = o.told_count + 1
           FROM servers s
          WHERE o.node_id = $1 AND o.server_id = ANY($2::uuid[]) AND s.id = o.server_id AND o.resolved_at IS NULL AND o.reason <> 'unknown'
            AND o.first_seen_at < now() - make_interval(secs => $3)
            AND (o.told_at IS NULL OR o.told_at < now() - make_interval(secs => $4))
            AND (s.state = 'deleted' OR s.node_id IS DISTINCT FROM $1::uuid)
            AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.server_id = s.id AND t.node_id = $1::uuid AND t.state IN ${ACTIVE_TASKS_SQL})
        RETURNING o.server_id, o.reason, s.node_id AS server_node_id, o.first_seen_at`,
        [nodeId, due, graceSeconds, ORPHAN_RETELL_SECONDS],
      ));
      return rows.map((r) => ({ ...r, issuedAt: nowMs() }));
    });
    for (const o of told) {
      const command = OrphanDestroyCommandSchema.parse({
        v: WIRE_VERSION, kind: ORPHAN_DESTROY, nodeId, serverId: o.server_id, reason: o.reason, serverNodeId: o.server_node_id, issuedAt: o.issuedAt,
      });
      try {
        await this.nats.js.publish(this.nats.subjects.nodeCommand(nodeId, ORPHAN_DESTROY), JSON.stringify(command), {
          msgID: `orphan:${nodeId}:${o.server_id}:${Math.round(o.issuedAt)}`, timeout: 5000,
        });
        this.logger.warn(`Node ${nodeId} holds a domain of server ${o.server_id} (${o.reason}${o.server_node_id ? `, lives on ${o.server_node_id}` : ''}) since ${o.first_seen_at.toISOString()}: told to destroy it`);
      } catch (err) {
        // told_at stays: told again after ORPHAN_RETELL_SECONDS if it is still listed
        this.logger.warn(`Could not tell node ${nodeId} to destroy orphan ${o.server_id}: ${(err as Error).message}`);
      }
    }
  }

  /** The node's answer: recorded on the orphan and audited as the system, once per answer. */
  async onReport(nodeId: string, r: OrphanReport): Promise<void> {
    await this.ds.transaction(async (m) => {
      const [row]: { reason: string; first_seen_at: Date; told_count: number; resolved_at: Date | null }[] = await m.query(
        `SELECT reason, first_seen_at, told_count, resolved_at FROM node_orphans WHERE node_id = $1 AND server_id = $2 FOR UPDATE`,
        [nodeId, r.serverId],
      );
      if (row?.resolved_at) return; // a second answer (the command was told twice): audited once
      const [server]: { tenant_id: string; node_id: string | null; state: string }[] = await m.query(`SELECT tenant_id, node_id, state FROM servers WHERE id = $1`, [r.serverId]);
      if (row) {
        await m.query(
          `UPDATE node_orphans SET outcome = $3, outcome_message = $4, resolved_at = now() WHERE node_id = $1 AND server_id = $2`,
          [nodeId, r.serverId, r.outcome, r.message],
        );
      }
      await this.audit.record(m, {
        tenantId: server?.tenant_id ?? null, actorUserId: null, actorKind: 'system', action: `server.orphan_${r.outcome}`, targetType: 'server', targetId: r.serverId, ip: null,
        details: {
          nodeId, outcome: r.outcome, message: r.message, reason: row?.reason ?? null, firstSeenAt: row?.first_seen_at?.toISOString() ?? null,
          serverNodeId: server?.node_id ?? null, serverState: server?.state ?? null,
        },
      });
    });
    const line = `Node ${nodeId}, orphan of server ${r.serverId}: ${r.outcome} (${r.message})`;
    if (r.outcome === 'refused') this.logger.error(line);
    else this.logger.log(line);
  }
}
