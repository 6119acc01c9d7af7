import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { ServerView, SnapshotView } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { nowMs } from '../common/clock.js';
import { PeriodicJob } from '../common/periodic-job.js';
import { SYSTEM_ACTOR, type Actor } from '../common/request-context.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { ServerEntity } from '../servers/server.entities.js';
import { ServerViewsService } from '../servers/server-views.service.js';
import { ServerError } from '../servers/servers.errors.js';
import { SnapshotEntity } from './snapshot.entity.js';
import { SnapshotError } from './snapshots.errors.js';

const notFound = () => new ServerError('server_not_found', 'No server with that id in this team.');

export function snapshotView(s: SnapshotEntity): SnapshotView {
  return {
    id: s.id, serverId: s.serverId, name: s.name, state: s.state, withMemory: s.withMemory, sizeBytes: s.sizeBytes,
    createdAt: s.createdAt.toISOString(), expiresAt: s.expiresAt ? s.expiresAt.toISOString() : null,
  };
}

/** A tenant's snapshots of its servers: every call takes the tenant; another tenant's server answers 404. */
@Injectable()
export class SnapshotsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(ServerViewsService) private readonly views: ServerViewsService,
  ) {}

  async list(tenantId: string, serverId: string): Promise<SnapshotView[]> {
    if (!(await this.ds.getRepository(ServerEntity).existsBy({ tenantId, id: serverId }))) throw notFound();
    const rows = await this.ds.getRepository(SnapshotEntity).find({ where: { tenantId, serverId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map(snapshotView);
  }

  /** Start a snapshot_create task; answers the new snapshot (`creating` until the node confirms). */
  async create(tenantId: string, actor: Actor, serverId: string, name: string, expiresInHours: number | undefined): Promise<SnapshotView> {
    const id = randomUUID();
    const expiresAt = expiresInHours ? new Date(Date.now() + expiresInHours * 3600_000) : null;
    await this.runner.run({ tenantId, serverId }, 'snapshot_create', actor, { id, name: name.trim(), expiresAt }, nowMs());
    const row = await this.ds.getRepository(SnapshotEntity).findOneByOrFail({ id, tenantId });
    return snapshotView(row);
  }

  revert(tenantId: string, actor: Actor, serverId: string, snapshotId: string): Promise<ServerView> {
    return this.onSnapshot(tenantId, actor, serverId, snapshotId, 'snapshot_revert');
  }

  remove(tenantId: string, actor: Actor, serverId: string, snapshotId: string): Promise<ServerView> {
    return this.onSnapshot(tenantId, actor, serverId, snapshotId, 'snapshot_delete');
  }

  private async onSnapshot(tenantId: string, actor: Actor, serverId: string, snapshotId: string, op: 'snapshot_revert' | 'snapshot_delete'): Promise<ServerView> {
    // the snapshot must be this tenant's and this server's: anything else is not there (404)
    const snap = await this.ds.getRepository(SnapshotEntity).findOneBy({ id: snapshotId, tenantId, serverId });
    if (!snap) {
      if (!(await this.ds.getRepository(ServerEntity).existsBy({ tenantId, id: serverId }))) throw notFound();
      throw new SnapshotError('snapshot_not_found', 'No snapshot with that id on this server.');
    }
    await this.runner.run({ tenantId, serverId }, op, actor, { snapshotId }, nowMs());
    return this.views.get(tenantId, serverId);
  }
}

/** Deletes snapshots whose expiry has passed (as the system), one task per server at a time, every 30 s. */
@Injectable()
export class SnapshotExpiry implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SnapshotExpiry');
  private readonly job = new PeriodicJob({ everyMs: 30_000, pass: () => this.sweep(), logger: this.logger, failed: 'Snapshot expiry sweep failed' });

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /** Start snapshot_delete for each expired ready snapshot whose server is free to take it; answers how many. */
  async sweep(): Promise<number> {
    const due: { id: string; server_id: string; tenant_id: string }[] = await this.ds.query(
      `SELECT DISTINCT ON (s.server_id) s.id, s.server_id, s.tenant_id FROM server_snapshots s JOIN servers v ON v.id = s.server_id
        WHERE s.state = 'ready' AND s.expires_at <= now() AND v.state IN ('running', 'stopped', 'paused')
        ORDER BY s.server_id, s.expires_at`,
    );
    let started = 0;
    for (const d of due) {
      try {
        await this.runner.run({ tenantId: d.tenant_id, serverId: d.server_id }, 'snapshot_delete', SYSTEM_ACTOR, { snapshotId: d.id }, nowMs());
        started++;
      } catch (err) {
        // busy with another task, or its node is offline: the next sweep tries again
        this.logger.debug(`expired snapshot ${d.id} not deleted yet: ${(err as Error).message}`);
      }
    }
    return started;
  }
}
