import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { BackupEngine, EngineBackup } from '../backup-policy/backup-scheduler.service.js';
import { nowMs } from '../common/clock.js';
import { SYSTEM_ACTOR } from '../common/request-context.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { BackupStoreDeletesService, STORE_DELETE_RETELL_SECONDS } from './backup-store-deletes.service.js';
import { BackupsService } from './backups.service.js';

interface Row { id: string; tenant_id: string; server_id: string; state: string; created_at: Date; parent_id: string | null; stale_delete: boolean }

/** A store delete left unanswered past its retell time counts as not deleted (failed), so the sweep asks again. */
const engineBackup = (r: Row): EngineBackup => ({
  id: r.id, tenantId: r.tenant_id, serverId: r.server_id, createdAt: new Date(r.created_at), parentId: r.parent_id,
  state: r.state === 'pending' || r.state === 'running' ? 'creating' : r.stale_delete ? 'failed' : (r.state as EngineBackup['state']),
});

const STALE_DELETE_SQL = `(b.state = 'deleting' AND b.delete_request_id IS NOT NULL AND b.delete_requested_at < now() - make_interval(secs => ${STORE_DELETE_RETELL_SECONDS}))`;

/** The backup engine as the scheduler sees it (BACKUP_ENGINE): the `backups` table and its operations, as the system. */
@Injectable()
export class BackupsEngineAdapter implements BackupEngine {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(BackupsService) private readonly backups: BackupsService,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(BackupStoreDeletesService) private readonly storeDeletes: BackupStoreDeletesService,
  ) {}

  requestBackup(serverId: string, trigger: 'scheduled'): Promise<{ id: string }> {
    return this.backups.requestBackup(serverId, trigger);
  }

  async inFlight(serverId: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(`SELECT 1 FROM backups WHERE server_id = $1 AND state IN ('pending', 'running') LIMIT 1`, [serverId]);
    return rows.length > 0;
  }

  async backupsOf(serverId: string): Promise<EngineBackup[]> {
    const rows: Row[] = await this.ds.query(`SELECT b.id, b.tenant_id, b.server_id, b.state, b.created_at, b.parent_id, ${STALE_DELETE_SQL} AS stale_delete FROM backups b WHERE b.server_id = $1 ORDER BY b.created_at`, [serverId]);
    return rows.map(engineBackup);
  }

  async serversWithBackups(): Promise<{ serverId: string; deletedAt: Date | null }[]> {
    const rows: { server_id: string; deleted_at: Date | null }[] = await this.ds.query(
      `SELECT DISTINCT b.server_id, s.deleted_at
         FROM backups b LEFT JOIN servers s ON s.id = b.server_id WHERE b.state IN ('ready', 'failed') OR ${STALE_DELETE_SQL}`,
    );
    return rows.map((r) => ({ serverId: r.server_id, deletedAt: r.deleted_at ? new Date(r.deleted_at) : null }));
  }

  /**
   * A live server's backup goes through backup_delete on its node; a deleted server's through a `store_delete`
   * command to an online node of the store's location (the runner takes no operation on a deleted server).
   */
  async deleteBackup(b: EngineBackup): Promise<void> {
    const [server]: { state: string }[] = await this.ds.query('SELECT state FROM servers WHERE id = $1', [b.serverId]);
    if (!server || server.state === 'deleted') {
      await this.storeDeletes.request(b.id, SYSTEM_ACTOR);
      return;
    }
    await this.runner.run({ serverId: b.serverId }, 'backup_delete', SYSTEM_ACTOR, { backupId: b.id }, nowMs());
  }
}
