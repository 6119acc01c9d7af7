import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { BackupTrigger, BackupView, ServerView } from '@oblako/contracts';
import { DataSource, type Repository } from 'typeorm';
import { nowMs } from '../common/clock.js';
import { SYSTEM_ACTOR, type Actor, type OperationActor } from '../common/request-context.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { ServerEntity } from '../servers/server.entities.js';
import { ServerViewsService } from '../servers/server-views.service.js';
import { ServerError } from '../servers/servers.errors.js';
import { BackupEntity } from './backup.entity.js';
import { BackupError } from './backups.errors.js';

const serverNotFound = () => new ServerError('server_not_found', 'No server with that id in this team.');
const backupNotFound = () => new BackupError('backup_not_found', 'No backup with that id of this server.');

interface BackupRow extends BackupEntity { taskState: string | null }

export function backupView(b: BackupEntity, taskState: string | null = null): BackupView {
  return {
    id: b.id, serverId: b.serverId, serverName: b.serverName, storeId: b.storeId,
    // a pending backup whose task the node has started shows as running
    state: b.state === 'pending' && taskState === 'running' ? 'running' : b.state,
    kind: b.kind, parentId: b.parentId, fullReason: b.fullReason, trigger: b.trigger, sizeBytes: b.sizeBytes, virtualSizeBytes: b.virtualSizeBytes, sha256: b.sha256, durationMs: b.durationMs, error: b.error, taskId: b.taskId,
    createdAt: b.createdAt.toISOString(), finishedAt: b.finishedAt ? b.finishedAt.toISOString() : null,
  };
}

/**
 * A tenant's backups of its servers (issue 12). Every call takes the tenant: another tenant's server or backup is 404.
 * Backups are taken, restored and deleted as registered operations through the {@link TaskRunner} (backup_create,
 * backup_restore, backup_delete); the scheduler calls {@link requestBackup}.
 */
@Injectable()
export class BackupsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(ServerViewsService) private readonly views: ServerViewsService,
  ) {}

  /** The server's backups, newest first (also of a deleted server of the tenant: they outlive it for the grace days). */
  async list(tenantId: string, serverId: string): Promise<BackupView[]> {
    if (!(await this.ds.getRepository(ServerEntity).existsBy({ tenantId, id: serverId }))) throw serverNotFound();
    const rows = await this.rows('b.tenant_id = $1 AND b.server_id = $2', [tenantId, serverId]);
    return rows.map((r) => backupView(r, r.taskState));
  }

  async get(tenantId: string, serverId: string, backupId: string): Promise<BackupView> {
    const [row] = await this.rows('b.tenant_id = $1 AND b.server_id = $2 AND b.id = $3', [tenantId, serverId, backupId]);
    if (!row) {
      if (!(await this.ds.getRepository(ServerEntity).existsBy({ tenantId, id: serverId }))) throw serverNotFound();
      throw backupNotFound();
    }
    return backupView(row, row.taskState);
  }

  /** "Back up now": a manual full backup; answers the new backup (`pending` until the node reports). */
  async create(tenantId: string, actor: Actor, serverId: string): Promise<BackupView> {
    return this.start({ tenantId, serverId }, actor, 'manual');
  }

  /**
   * For the scheduler: start a backup of the server as the system. Throws what the runner throws when the server is
   * busy, stopped in a state that takes none, or its location has no enabled store (409 `no_backup_store`).
   */
  async requestBackup(serverId: string, trigger: BackupTrigger = 'scheduled'): Promise<BackupView> {
    return this.start({ serverId }, SYSTEM_ACTOR, trigger);
  }

  restore(tenantId: string, actor: Actor, serverId: string, backupId: string): Promise<ServerView> {
    return this.onBackup(tenantId, actor, serverId, backupId, 'backup_restore');
  }

  remove(tenantId: string, actor: Actor, serverId: string, backupId: string): Promise<ServerView> {
    return this.onBackup(tenantId, actor, serverId, backupId, 'backup_delete');
  }

  private async start(where: { tenantId?: string; serverId: string }, actor: OperationActor, trigger: BackupTrigger): Promise<BackupView> {
    const id = randomUUID();
    const started = await this.runner.run(where, 'backup_create', actor, { id, trigger }, nowMs());
    if (started.task) await this.ds.query('UPDATE backups SET task_id = $2 WHERE id = $1 AND task_id IS NULL', [id, started.task.id]);
    const [row] = await this.rows('b.id = $1', [id]);
    return backupView(row!, row!.taskState);
  }

  private async onBackup(tenantId: string, actor: Actor, serverId: string, backupId: string, op: 'backup_restore' | 'backup_delete'): Promise<ServerView> {
    // the backup must be this tenant's and this server's: anything else is not there (404)
    const b = await this.ds.getRepository(BackupEntity).findOneBy({ id: backupId, tenantId, serverId });
    if (!b) {
      if (!(await this.ds.getRepository(ServerEntity).existsBy({ tenantId, id: serverId }))) throw serverNotFound();
      throw backupNotFound();
    }
    await this.runner.run({ tenantId, serverId }, op, actor, { backupId }, nowMs());
    return this.views.get(tenantId, serverId);
  }

  private async rows(where: string, params: unknown[]): Promise<BackupRow[]> {
    const raw: Record<string, unknown>[] = await this.ds.query(
      `SELECT b.*, t.state AS task_state FROM backups b LEFT JOIN tasks t ON t.id = b.task_id WHERE ${where} ORDER BY b.created_at DESC, b.id DESC`,
      params,
    );
    return raw.map((r) => Object.assign(backupFromRow(this.ds.getRepository(BackupEntity), r), { taskState: (r['task_state'] as string | null) ?? null }));
  }
}

/** A `backups` row read with a raw query (snake_case columns) as the entity. */
export function backupFromRow(repo: Repository<BackupEntity>, r: Record<string, unknown>): BackupEntity {
  return repo.create({
    id: r['id'] as string, tenantId: r['tenant_id'] as string, serverId: r['server_id'] as string, serverName: r['server_name'] as string, storeId: r['store_id'] as string,
    nodeId: (r['node_id'] as string | null) ?? null, taskId: (r['task_id'] as string | null) ?? null, state: r['state'] as BackupEntity['state'], kind: r['kind'] as BackupEntity['kind'],
    parentId: (r['parent_id'] as string | null) ?? null, fullReason: (r['full_reason'] as string | null) ?? null, trigger: r['trigger'] as BackupTrigger, sizeBytes: Number(r['size_bytes'] ?? 0), virtualSizeBytes: Number(r['virtual_size_bytes'] ?? 0), bytesMoved: Number(r['bytes_moved'] ?? 0),
    sha256: (r['sha256'] as string | null) ?? null, durationMs: r['duration_ms'] == null ? null : Number(r['duration_ms']), error: (r['error'] as string | null) ?? null,
    createdAt: new Date(r['created_at'] as string), finishedAt: r['finished_at'] ? new Date(r['finished_at'] as string) : null,
  });
}
