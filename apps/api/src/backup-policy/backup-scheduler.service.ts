import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { NotificationsService } from '../notifications/notifications.service.js';
import { DataSource } from 'typeorm';
import { MovableClock } from '../common/movable-clock.js';
import { PeriodicJob } from '../common/periodic-job.js';
import { backupsToPrune, type PrunableBackup } from './retention.js';
import { BackupSchedulesService, retentionOf, timesOf, type ScheduleRow } from './backup-schedules.service.js';
import { windowAt } from './schedule-window.js';

/**
 * The time the backup scheduler decides by (windows, grace days). Production: the wall clock. Tests move it with
 * `set()`/`advance()` instead of waiting for 02:00 UTC or seven days.
 */
@Injectable()
export class BackupPolicyClock extends MovableClock {}

/** One backup as the scheduler needs it: what pruning reads, and whose it is (to delete it through the engine). */
export interface EngineBackup extends PrunableBackup {
  tenantId: string;
  serverId: string;
}

/**
 * What the scheduler needs of the backup engine (the `backups` table and its backup_create/backup_delete operations).
 * The engine's adapter implements it; the scheduler holds no SQL of the engine's table.
 */
export interface BackupEngine {
  /** Start a backup of the server as the system (backup_create). Throws when it cannot start (busy, no store, ...). */
  requestBackup(serverId: string, trigger: 'scheduled'): Promise<{ id: string }>;
  /** Whether the server has a backup being made (pending or running). */
  inFlight(serverId: string): Promise<boolean>;
  /** Every backup of the server, any state (`creating` for pending and running). */
  backupsOf(serverId: string): Promise<EngineBackup[]>;
  /** Servers that hold at least one ready or failed backup, with whether the server is deleted and since when. */
  serversWithBackups(): Promise<{ serverId: string; deletedAt: Date | null }[]>;
  /** Delete one backup through the engine's backup_delete operation, as the system. Throws when it cannot start now. */
  deleteBackup(b: EngineBackup): Promise<void>;
}

export const BACKUP_ENGINE = Symbol('BACKUP_ENGINE');

export interface SweepResult {
  /** Scheduled backups started. */
  started: number;
  /** Windows claimed whose backup could not start (the reason is in `last_error`; the next window tries again). */
  failedToStart: number;
  /** Servers due but skipped because a backup of theirs is still being made. */
  skippedInFlight: number;
  /** Backup deletes started by retention pruning. */
  pruned: number;
  /** Backup deletes started because the server was deleted more than the grace days ago. */
  graceDeleted: number;
}

/**
 * Scheduled backups, retention pruning and the grace period of a deleted server's backups (issue 12), every 30 s on
 * every API replica. A window is claimed with one conditional UPDATE of `backup_schedules.last_window_at` over rows
 * locked `FOR UPDATE SKIP LOCKED`, so across replicas at most one scheduled backup starts per server and window. A
 * backup that cannot start (or starts and fails) is not retried in that window: the next window tries again.
 */
@Injectable()
export class BackupScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('BackupScheduler');
  private readonly job = new PeriodicJob({ everyMs: 30_000, pass: () => this.sweep(), logger: this.logger, failed: 'Backup scheduler sweep failed' });

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(BackupSchedulesService) private readonly schedules: BackupSchedulesService,
    @Inject(BackupPolicyClock) private readonly clock: BackupPolicyClock,
    @Inject(BACKUP_ENGINE) private readonly engine: BackupEngine,
    @Optional() @Inject(NotificationsService) private readonly notifications: NotificationsService | null = null,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  async sweep(): Promise<SweepResult> {
    const r: SweepResult = { started: 0, failedToStart: 0, skippedInFlight: 0, pruned: 0, graceDeleted: 0 };
    await this.startDue(this.engine, r);
    await this.pruneAndExpire(this.engine, r);
    return r;
  }

  /** Start the scheduled backup of every enabled schedule whose window is open now and not yet used. */
  private async startDue(engine: BackupEngine, r: SweepResult): Promise<void> {
    const now = this.clock.now();
    const rows: ScheduleRow[] = await this.ds.query(
      `SELECT b.* FROM backup_schedules b JOIN servers s ON s.id = b.server_id WHERE b.enabled AND s.state <> 'deleted' ORDER BY b.server_id`,
    );
    for (const row of rows) {
      const window = windowAt(timesOf(row), now);
      if (!window || (row.last_window_at && new Date(row.last_window_at).getTime() >= window.getTime())) continue;
      if (await engine.inFlight(row.server_id)) {
        // a backup (manual, or the last window's running late) is still being made: look again at the next sweep
        r.skippedInFlight++;
        continue;
      }
      // TypeORM answers an UPDATE ... RETURNING as [rows, affected]
      const [claimed]: [{ server_id: string }[], number] = await this.ds.query(
        `UPDATE backup_schedules SET last_window_at = $2, last_error = NULL
          WHERE server_id IN (SELECT server_id FROM backup_schedules WHERE server_id = $1 AND enabled AND (last_window_at IS NULL OR last_window_at < $2) FOR UPDATE SKIP LOCKED)
          RETURNING server_id`,
        [row.server_id, window],
      );
      if (claimed.length === 0) continue; // another replica took this window
      try {
        await engine.requestBackup(row.server_id, 'scheduled');
        r.started++;
      } catch (err) {
        r.failedToStart++;
        const message = (err as Error).message.slice(0, 500);
        await this.ds.query('UPDATE backup_schedules SET last_error = $2 WHERE server_id = $1 AND last_window_at = $3', [row.server_id, message, window]);
        this.logger.debug(`scheduled backup of ${row.server_id} not started: ${message}`);
        await this.tellNotStarted(row.server_id, window, message);
      }
    }
  }

  /** A window whose backup could not start is a failed backup for the tenant (issue 14): said once per server and window. */
  private async tellNotStarted(serverId: string, window: Date, message: string): Promise<void> {
    if (!this.notifications) return;
    const [s]: { tenant_id: string; hostname: string }[] = await this.ds.query('SELECT tenant_id, hostname FROM servers WHERE id = $1', [serverId]);
    if (!s) return;
    await this.notifications.notify(null, {
      tenantId: s.tenant_id, kind: 'backup.failed', link: `/servers/${serverId}`, dedupKey: `backup-not-started:${serverId}:${window.toISOString()}`,
      title: `Scheduled backup of ${s.hostname} failed`,
      body: `The scheduled backup of ${s.hostname} could not start: ${message.replace(/\.?$/, '.')} It is tried again at the next backup window.`,
      facts: [['Server', s.hostname], ['Reason', message]],
    }).catch((err: Error) => this.logger.warn(`backup.failed notification for ${serverId} not written: ${err.message}`));
  }

  /**
   * Retention for live servers, the grace period for deleted ones. One delete per server and sweep (a server takes
   * one task at a time); the next sweep carries on with the rest.
   */
  private async pruneAndExpire(engine: BackupEngine, r: SweepResult): Promise<void> {
    const now = this.clock.now();
    const graceDays = (await this.schedules.settings()).deletedServerGraceDays;
    const graceBefore = now.getTime() - graceDays * 86_400_000;
    for (const s of await engine.serversWithBackups()) {
      const backups = await engine.backupsOf(s.serverId);
      let victim: EngineBackup | undefined;
      if (s.deletedAt) {
        if (s.deletedAt.getTime() > graceBefore) continue; // within grace: the customer may still restore
        // children before parents, like pruning
        victim = [...backups].filter((b) => b.state === 'ready' || b.state === 'failed').sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
      } else {
        const [row]: ScheduleRow[] = await this.ds.query('SELECT * FROM backup_schedules WHERE server_id = $1', [s.serverId]);
        victim = backupsToPrune(backups, retentionOf(row), now)[0];
      }
      if (!victim) continue;
      try {
        await engine.deleteBackup(victim);
        if (s.deletedAt) r.graceDeleted++;
        else r.pruned++;
      } catch (err) {
        // busy with another task, or its node is offline: the next sweep tries again
        this.logger.debug(`backup ${victim.id} not deleted yet: ${(err as Error).message}`);
      }
    }
  }
}
