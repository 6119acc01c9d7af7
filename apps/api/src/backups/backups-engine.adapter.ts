import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { BackupEngine, EngineBackup } from '../backup-policy/backup-scheduler.service.js';
import { nowMs } from '../common/clock.js';
import { SYSTEM_ACTOR } from '../common/request-context.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { BackupError } from './backups.errors.js';
import { BackupsService } from './backups.service.js';

interface Row { id: string; tenant_id: string; server_id: string; state: string; created_at: Date; parent_id: string | null }

const engineBackup = (r: Row): EngineBackup => ({
  id: r.id, tenantId: r.tenant_id, serverId: r.server_id, createdAt: new Date(r.created_at), parentId: r.parent_id,
  state: r.state === 'pending' || r.state === 'running' ? 'creating' : (r.state as EngineBackup['state']),
});

/** The backup engine as the scheduler sees it (BACKUP_ENGINE): the `backups` table and its operations, as the system. */
@Injectable()
export class BackupsEngineAdapter implements BackupEngine {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(BackupsService) private readonly backups: BackupsService,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
  ) {}

  requestBackup(serverId: string, trigger: 'scheduled'): Promise<{ id: string }> {
    return this.backups.requestBackup(serverId, trigger);
  }

  async inFlight(serverId: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(`SELECT 1 FROM backups WHERE server_id = $1 AND state IN ('pending', 'running') LIMIT 1`, [serverId]);
    return rows.length > 0;
  }

  async backupsOf(serverId: string): Promise<EngineBackup[]> {
    const rows: Row[] = await this.ds.query('SELECT id, tenant_id, server_id, state, created_at, parent_id FROM backups WHERE server_id = $1 ORDER BY created_at', [serverId]);
    return rows.map(engineBackup);
  }

  async serversWithBackups(): Promise<{ serverId: string; deletedAt: Date | null }[]> {
    const rows: { server_id: string; deleted_at: Date | null }[] = await this.ds.query(
      `SELECT DISTINCT b.server_id, s.deleted_at FROM backups b LEFT JOIN servers s ON s.id = b.server_id WHERE b.state IN ('ready', 'failed')`,
    );
    return rows.map((r) => ({ serverId: r.server_id, deletedAt: r.deleted_at ? new Date(r.deleted_at) : null }));
  }

  /**
   * A live server's backup goes through backup_delete on its node. A deleted server's backups cannot yet: the runner
   * takes no operation on a deleted server (they stay on the store and in the table; see DESIGN.md).
   */
  async deleteBackup(b: EngineBackup): Promise<void> {
    const [server]: { state: string }[] = await this.ds.query('SELECT state FROM servers WHERE id = $1', [b.serverId]);
    if (!server || server.state === 'deleted') {
      throw new BackupError('backup_not_ready', `backup ${b.id} belongs to a deleted server; deleting such backups from the store is not built yet`);
    }
    await this.runner.run({ serverId: b.serverId }, 'backup_delete', SYSTEM_ACTOR, { backupId: b.id }, nowMs());
  }
}
