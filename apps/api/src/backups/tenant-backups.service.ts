import { Inject, Injectable } from '@nestjs/common';
import type { ServerView, TenantBackupView } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { BackupPolicyClock } from '../backup-policy/backup-scheduler.service.js';
import { BackupSchedulesService } from '../backup-policy/backup-schedules.service.js';
import { BackupStoreEntity } from '../backup-stores/backup-store.entity.js';
import type { PlanEntity } from '../catalogue/catalogue.entities.js';
import { nowMs } from '../common/clock.js';
import type { Actor } from '../common/request-context.js';
import { ServerEntity } from '../servers/server.entities.js';
import { ServerOrdersService, type CreateServerInput } from '../servers/server-orders.service.js';
import { BackupEntity } from './backup.entity.js';
import { BackupError } from './backups.errors.js';
import { BackupStoreDeletesService } from './backup-store-deletes.service.js';
import { backupFromRow, backupView, BackupsService } from './backups.service.js';

const GiB = 1024 ** 3;
const backupNotFound = () => new BackupError('backup_not_found', 'No backup with that id in this team.');
const gib = (bytes: number) => (bytes / GiB).toFixed(bytes % GiB === 0 ? 0 : 2);

/** The order fields of a restore into a new server (the image is the backed-up server's, the location the store's). */
export type RestoreToNewInput = Pick<CreateServerInput, 'planId' | 'hostname' | 'sshKeyIds' | 'rootPassword'> & { locationId?: string };

/**
 * A tenant's backups across its servers, also of deleted ones (issue 12): the list with each one's grace, and the
 * restore into a new server, which is an order (ServerOrdersService) whose create carries the backup. Every call
 * takes the tenant: another tenant's backup is 404.
 */
@Injectable()
export class TenantBackupsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ServerOrdersService) private readonly orders: ServerOrdersService,
    @Inject(BackupSchedulesService) private readonly schedules: BackupSchedulesService,
    @Inject(BackupPolicyClock) private readonly clock: BackupPolicyClock,
    @Inject(BackupsService) private readonly backups: BackupsService,
    @Inject(BackupStoreDeletesService) private readonly storeDeletes: BackupStoreDeletesService,
  ) {}

  /** The tenant's backups, newest first; `serverDeleted` keeps only those of deleted (true) or live (false) servers. */
  async list(tenantId: string, serverDeleted?: boolean, backupId?: string): Promise<TenantBackupView[]> {
    const graceDays = (await this.schedules.settings()).deletedServerGraceDays;
    const params: unknown[] = [tenantId];
    let filter = serverDeleted === undefined ? '' : `AND ${serverDeleted ? '' : 'NOT '}(${DELETED_SQL})`;
    if (backupId) filter += ` AND b.id = $${params.push(backupId)}`;
    const raw: Record<string, unknown>[] = await this.ds.query(
      `SELECT b.*, t.state AS task_state, st.location_id, ${DELETED_SQL} AS server_deleted, COALESCE(s.deleted_at, s.updated_at) AS server_deleted_at
         FROM backups b
         JOIN backup_stores st ON st.id = b.store_id
         LEFT JOIN servers s ON s.id = b.server_id
         LEFT JOIN tasks t ON t.id = b.task_id
        WHERE b.tenant_id = $1 ${filter}
        ORDER BY b.created_at DESC, b.id DESC`,
      params,
    );
    const repo = this.ds.getRepository(BackupEntity);
    return raw.map((r) => {
      const deleted = r['server_deleted'] === true;
      return {
        ...backupView(backupFromRow(repo, r), (r['task_state'] as string | null) ?? null),
        serverDeleted: deleted,
        graceExpiresAt: deleted ? new Date(new Date(r['server_deleted_at'] as string).getTime() + graceDays * 86_400_000).toISOString() : null,
        locationId: r['location_id'] as string,
      };
    });
  }

  /**
   * Delete one of the tenant's backups: a live server's through its `backup_delete` task, a deleted server's through a
   * `store_delete` node command (BackupStoreDeletesService); both put it in `deleting`. Answers the backup as read
   * before the delete was asked, in `deleting`, and does not read it again: a quick node may have confirmed by then and
   * the row be gone, which is a done delete, not a missing backup (the re-read answered the customer's 202 as a 404
   * under load, when the node's answer came in before it).
   */
  async remove(tenantId: string, actor: Actor, backupId: string): Promise<TenantBackupView> {
    const before = await this.one(tenantId, backupId);
    if (!before) throw backupNotFound();
    if (before.serverDeleted) await this.storeDeletes.request(backupId, actor, tenantId);
    else await this.backups.remove(tenantId, actor, before.serverId, backupId);
    return { ...before, state: 'deleting' };
  }

  private async one(tenantId: string, backupId: string): Promise<TenantBackupView | undefined> {
    return (await this.list(tenantId, undefined, backupId))[0];
  }

  /**
   * Restore a backup into a new server: an order (the same checks, payment, placement, capacity and addresses) of the
   * backed-up server's image in the store's location, whose create builds the disk from the backup.
   */
  async restoreToNew(tenantId: string, actor: Actor, backupId: string, input: RestoreToNewInput, idempotencyKey: string | null): Promise<ServerView> {
    const backup = await this.ds.getRepository(BackupEntity).findOneBy({ id: backupId, tenantId });
    if (!backup) throw backupNotFound();
    const [source, store] = await Promise.all([
      this.ds.getRepository(ServerEntity).findOneBy({ id: backup.serverId, tenantId }),
      this.ds.getRepository(BackupStoreEntity).findOneBy({ id: backup.storeId }),
    ]);
    if (!source || !store) throw new BackupError('backup_not_ready', 'The backup\'s server or store is gone; it cannot be restored.');
    if (input.locationId && input.locationId !== store.locationId) {
      throw new BackupError('backup_other_location', `The backup is kept in another location (${store.locationId}); a restore into a new server lands there. Leave locationId out, or give that one.`);
    }
    const order: CreateServerInput = {
      planId: input.planId, imageId: source.imageId, locationId: store.locationId, hostname: input.hostname,
      ...(input.sshKeyIds ? { sshKeyIds: input.sshKeyIds } : {}), ...(input.rootPassword !== undefined ? { rootPassword: input.rootPassword } : {}),
    };
    return this.orders.create(tenantId, actor, order, nowMs(), idempotencyKey, {
      backupId,
      check: (m, plan) => this.checkRestorable(m, tenantId, backupId, source, plan),
    });
  }

  /** In the order's transaction: the backup (locked against a delete) is ready, within its grace, and fits the plan. */
  private async checkRestorable(m: EntityManager, tenantId: string, backupId: string, source: ServerEntity, plan: PlanEntity): Promise<void> {
    const b = await m.findOne(BackupEntity, { where: { id: backupId, tenantId }, lock: { mode: 'pessimistic_read' } });
    if (!b) throw backupNotFound();
    if (b.state !== 'ready' || !b.sha256) throw new BackupError('backup_not_ready', `The backup is ${b.state}; only a ready backup can be restored.`);
    const [server]: { deleted: boolean; deleted_at: Date | null }[] = await m.query(
      `SELECT ${DELETED_SQL} AS deleted, COALESCE(s.deleted_at, s.updated_at) AS deleted_at FROM servers s WHERE s.id = $1`, [b.serverId],
    );
    if (server?.deleted) {
      const graceDays = (await this.schedules.settings(m)).deletedServerGraceDays;
      const expires = new Date(server.deleted_at!).getTime() + graceDays * 86_400_000;
      if (expires <= this.clock.now().getTime()) {
        throw new BackupError('backup_expired', `The backup's server was deleted on ${new Date(server.deleted_at!).toISOString()}; its backups were kept for ${graceDays} day(s) and that time is over, so it can no longer be restored.`);
      }
    }
    const needed = b.virtualSizeBytes || source.diskGiB * GiB;
    if (plan.diskGiB * GiB < needed) {
      throw new BackupError('plan_disk_too_small', `The plan "${plan.name}" has a ${plan.diskGiB} GiB disk, and the backup is of a ${gib(needed)} GiB disk; choose a plan with at least ${Math.ceil(needed / GiB)} GiB of disk.`);
    }
  }
}

/** Whether the server `s` (joined) is deleted: gone, or in state `deleted`. */
const DELETED_SQL = `(s.id IS NULL OR s.state = 'deleted' OR s.deleted_at IS NOT NULL)`;
