import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { EventKind, STORE_DELETE_OP, StoreDeleteCommandSchema, StoreDeletedEventSchema, WIRE_VERSION, type StoreDeleteCommand, type StoreDeletedEvent } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { OperationActor } from '../common/request-context.js';
import { NatsService } from '../messaging/nats.service.js';
import { NodeEventHandlers, type NodeEventHandler } from '../node-events/event-handlers.js';
import { refuseInUse } from '../operations/backup-delete.operation.js';
import { refuseParentOfLive } from './backup-chain.js';
import { BackupEntity } from './backup.entity.js';
import { storeOf, storeRef } from './backup-refs.js';
import { BackupError } from './backups.errors.js';

/** A `store_delete` left unanswered this long is sent again (to whichever node is online then). */
export const STORE_DELETE_RETELL_SECONDS = 300;

/**
 * Deleting a *deleted* server's backup from its store (issue 12): the runner takes no task on a deleted server, so
 * this is a node command on its own subject (`store_delete`) to an online node of the store's location, answered by
 * `backup.store_deleted`. The row is `deleting` with the request id until that answer: ok, the row goes; a failure
 * puts it back as it was (the scheduler's grace sweep, or the customer, asks again).
 */
@Injectable()
export class BackupStoreDeletesService implements NodeEventHandler<StoreDeletedEvent>, OnModuleInit {
  readonly kind = EventKind.StoreDeleted;
  readonly schema = StoreDeletedEventSchema;
  private readonly logger = new Logger('BackupStoreDeletes');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  /**
   * Ask a node to delete the backup (of a deleted server) from its store. A request still fresh is not sent twice;
   * one older than {@link STORE_DELETE_RETELL_SECONDS} is sent again. Answers the backup as it was asked (`deleting`), not
   * read again: the node may answer before this returns, and the row is gone then.
   */
  async request(backupId: string, actor: OperationActor, tenantId?: string): Promise<BackupEntity> {
    const sent: { b: BackupEntity; command: StoreDeleteCommand | null; nodeId: string | null } = await this.ds.transaction(async (m) => {
      const b = await m.findOne(BackupEntity, { where: { id: backupId, ...(tenantId ? { tenantId } : {}) }, lock: { mode: 'pessimistic_write' } });
      if (!b) throw new BackupError('backup_not_found', 'No backup with that id in this team.');
      const [fresh]: { fresh: boolean }[] = await m.query(
        `SELECT delete_requested_at > now() - make_interval(secs => $2) AS fresh FROM backups WHERE id = $1`, [b.id, STORE_DELETE_RETELL_SECONDS],
      );
      if (b.state === 'deleting' && fresh?.fresh) return { b, command: null, nodeId: null };
      if (b.state !== 'ready' && b.state !== 'failed' && b.state !== 'deleting') throw new BackupError('backup_not_ready', `The backup is ${b.state}; wait until it has finished.`);
      await refuseInUse(m, b.id);
      await refuseParentOfLive(m, b.id);
      const store = await storeOf(m, b);
      const [node]: { id: string }[] = await m.query(
        `SELECT id FROM nodes WHERE location_id = $1 AND state = 'online' ORDER BY last_heartbeat_at DESC NULLS LAST, id LIMIT 1`, [store.locationId],
      );
      if (!node) throw new BackupError('no_node_for_store', 'No node of the backup store\'s location is online to delete it through; it is tried again later.');
      const requestId = randomUUID();
      await m.query(
        `UPDATE backups SET state = 'deleting', delete_request_id = $2, delete_requested_at = now(), delete_node_id = $3 WHERE id = $1`, [b.id, requestId, node.id],
      );
      await this.audit.record(m, {
        tenantId: b.tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'backup.delete', targetType: 'backup', targetId: b.id, ip: actor.ip,
        details: { serverId: b.serverId, storeId: store.id, nodeId: node.id, serverDeleted: true },
      });
      const command = StoreDeleteCommandSchema.parse({
        v: WIRE_VERSION, kind: STORE_DELETE_OP, requestId, nodeId: node.id, store: storeRef(store), backup: { id: b.id, serverId: b.serverId }, issuedAt: Date.now(),
      });
      b.state = 'deleting';
      return { b, command, nodeId: node.id };
    });
    if (sent.command && sent.nodeId) {
      // a publish that fails leaves the request unanswered: it is sent again after the retell time
      await this.nats.js.publish(this.nats.subjects.nodeCommand(sent.nodeId, STORE_DELETE_OP), JSON.stringify(sent.command), { msgID: sent.command.requestId, timeout: 5000 })
        .catch((err: unknown) => this.logger.warn(`store_delete of backup ${backupId} not sent yet: ${(err as Error).message}`));
    }
    // as it was when asked: the node may have confirmed already and the row be gone (a done delete, not an error)
    return sent.b;
  }

  /** The node's answer, for the request it answers only (a stale answer changes nothing). */
  async handle(nodeId: string, e: StoreDeletedEvent): Promise<void> {
    await this.ds.transaction(async (m) => {
      const [b]: { id: string; tenant_id: string; server_id: string; sha256: string | null }[] = await m.query(
        `SELECT id, tenant_id, server_id, sha256 FROM backups WHERE id = $1 AND delete_request_id = $2 AND delete_node_id = $3 AND state = 'deleting' FOR UPDATE`,
        [e.backupId, e.requestId, nodeId],
      );
      if (!b) return;
      if (e.ok) await m.query('DELETE FROM backups WHERE id = $1', [b.id]);
      else await m.query(`UPDATE backups SET state = $2, delete_request_id = NULL, delete_requested_at = NULL, delete_node_id = NULL WHERE id = $1`, [b.id, b.sha256 ? 'ready' : 'failed']);
      await this.audit.record(m, {
        tenantId: b.tenant_id, actorUserId: null, actorKind: 'system', action: e.ok ? 'backup.deleted' : 'backup.delete_failed', targetType: 'backup', targetId: b.id, ip: null,
        details: { serverId: b.server_id, nodeId, ...(e.reason ? { reason: e.reason } : {}) },
      });
    });
    if (!e.ok) this.logger.warn(`node ${nodeId} could not delete backup ${e.backupId} from its store: ${e.reason ?? 'no reason given'}`);
  }
}
