import { Inject, Injectable } from '@nestjs/common';
import {
  BACKUP_GRACE_DAYS_DEFAULT, BACKUP_INCREMENTAL_CHAIN_DEFAULT, BACKUP_INCREMENTAL_CHAIN_MAX, BACKUP_SCHEDULE_DEFAULT, RETENTION_DEFAULT, type BackupFrequency, type BackupScheduleView, type BackupSettingsView,
  type NotStartedBackupView, type RetentionPolicy,
} from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../common/request-context.js';
import { ServerError } from '../servers/servers.errors.js';
import type { PutBackupScheduleDto } from './backup-schedules.dto.js';
import { nextWindowAt, type ScheduleTimes } from './schedule-window.js';

/** Settings key of the staff's backup settings (the `settings` table). */
export const BACKUP_SETTINGS_KEY = 'backups.settings';

export interface ScheduleRow {
  server_id: string;
  tenant_id: string;
  enabled: boolean;
  frequency: BackupFrequency;
  weekday: number | null;
  window_start_hour: number;
  window_hours: number;
  keep_last: number;
  keep_daily: number;
  keep_weekly: number;
  keep_monthly: number;
  last_window_at: Date | null;
  last_error: string | null;
}

export const timesOf = (r: ScheduleRow): ScheduleTimes => ({ frequency: r.frequency, weekday: r.weekday, windowStartHour: r.window_start_hour, windowHours: r.window_hours });
export const retentionOf = (r: ScheduleRow | undefined): RetentionPolicy =>
  r ? { keepLast: r.keep_last, keepDaily: r.keep_daily, keepWeekly: r.keep_weekly, keepMonthly: r.keep_monthly } : { ...RETENTION_DEFAULT };

const notFound = () => new ServerError('server_not_found', 'No server with that id in this team.');

export function scheduleView(serverId: string, r: ScheduleRow | undefined, now: Date): BackupScheduleView {
  if (!r) {
    return { serverId, ...BACKUP_SCHEDULE_DEFAULT, retention: { ...RETENTION_DEFAULT }, isDefault: true, nextWindowAt: null, lastWindowAt: null, lastError: null };
  }
  return {
    serverId, enabled: r.enabled, frequency: r.frequency, weekday: r.weekday, windowStartHour: r.window_start_hour, windowHours: r.window_hours,
    retention: retentionOf(r), isDefault: false,
    nextWindowAt: r.enabled ? nextWindowAt(timesOf(r), now, r.last_window_at).toISOString() : null,
    lastWindowAt: r.last_window_at?.toISOString() ?? null, lastError: r.last_error,
  };
}

/** Each server's backup schedule and retention policy (customers), and the grace period of deleted servers' backups (staff). */
@Injectable()
export class BackupSchedulesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async get(tenantId: string, serverId: string, now = new Date()): Promise<BackupScheduleView> {
    const [server]: { id: string }[] = await this.ds.query('SELECT id FROM servers WHERE id = $1 AND tenant_id = $2', [serverId, tenantId]);
    if (!server) throw notFound();
    const [row]: ScheduleRow[] = await this.ds.query('SELECT * FROM backup_schedules WHERE server_id = $1 AND tenant_id = $2', [serverId, tenantId]);
    return scheduleView(serverId, row, now);
  }

  async put(tenantId: string, actor: Actor, serverId: string, dto: PutBackupScheduleDto, now = new Date()): Promise<BackupScheduleView> {
    return this.ds.transaction(async (m) => {
      const [server]: { id: string; state: string }[] = await m.query('SELECT id, state FROM servers WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [serverId, tenantId]);
      if (!server) throw notFound();
      if (server.state === 'deleted') throw new ServerError('invalid_transition', 'The server is deleted: it has no schedule any more. Its backups stay for the grace period; restore one into a new server.');
      const weekday = dto.frequency === 'weekly' ? dto.weekday! : null;
      const r = dto.retention;
      const [row]: ScheduleRow[] = await m.query(
        `INSERT INTO backup_schedules (server_id, tenant_id, enabled, frequency, weekday, window_start_hour, window_hours, keep_last, keep_daily, keep_weekly, keep_monthly)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (server_id) DO UPDATE SET enabled = EXCLUDED.enabled, frequency = EXCLUDED.frequency, weekday = EXCLUDED.weekday,
           window_start_hour = EXCLUDED.window_start_hour, window_hours = EXCLUDED.window_hours, keep_last = EXCLUDED.keep_last, keep_daily = EXCLUDED.keep_daily,
           keep_weekly = EXCLUDED.keep_weekly, keep_monthly = EXCLUDED.keep_monthly, last_error = NULL, updated_at = now()
         RETURNING *`,
        [serverId, tenantId, dto.enabled, dto.frequency, weekday, dto.windowStartHour, dto.windowHours, r.keepLast, r.keepDaily, r.keepWeekly, r.keepMonthly],
      );
      await this.audit.record(m, {
        tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'server.backup_schedule', targetType: 'server', targetId: serverId, ip: actor.ip,
        details: { enabled: dto.enabled, frequency: dto.frequency, weekday, windowStartHour: dto.windowStartHour, windowHours: dto.windowHours, retention: { ...r } },
      });
      return scheduleView(serverId, row, now);
    });
  }

  /**
   * Staff, across tenants: live servers whose enabled schedule claimed its last window and could not start a backup
   * there (the scheduler's `last_error`, cleared when the next window is claimed or the schedule is saved), newest
   * window first. A backup that started and then failed has a task and is among the failed tasks instead.
   */
  async notStarted(now = new Date()): Promise<NotStartedBackupView[]> {
    const rows: (ScheduleRow & { hostname: string; server_state: string; tenant_name: string; node_id: string | null; node_name: string | null; location_name: string })[] = await this.ds.query(
      `SELECT b.*, s.hostname, s.state AS server_state, tn.name AS tenant_name, s.node_id, n.name AS node_name, l.name AS location_name
         FROM backup_schedules b
         JOIN servers s ON s.id = b.server_id AND s.tenant_id = b.tenant_id
         JOIN tenants tn ON tn.id = b.tenant_id
         JOIN locations l ON l.id = s.location_id
         LEFT JOIN nodes n ON n.id = s.node_id
        WHERE b.enabled AND b.last_error IS NOT NULL AND b.last_window_at IS NOT NULL AND s.state <> 'deleted' AND s.deleted_at IS NULL
        ORDER BY b.last_window_at DESC, b.server_id
        LIMIT 500`,
    );
    return rows.map((r) => ({
      serverId: r.server_id, hostname: r.hostname, serverState: r.server_state, tenantId: r.tenant_id, tenantName: r.tenant_name,
      nodeId: r.node_id, nodeName: r.node_name, locationName: r.location_name, windowAt: new Date(r.last_window_at!).toISOString(),
      nextWindowAt: nextWindowAt(timesOf(r), now, r.last_window_at).toISOString(), reason: r.last_error!,
    }));
  }

  async settings(m: Pick<EntityManager, 'query'> = this.ds): Promise<BackupSettingsView> {
    const [row]: { value: Partial<BackupSettingsView> }[] = await m.query('SELECT value FROM settings WHERE key = $1', [BACKUP_SETTINGS_KEY]);
    const days = row?.value?.deletedServerGraceDays;
    const chain = row?.value?.incrementalChainMax;
    return {
      deletedServerGraceDays: typeof days === 'number' ? days : BACKUP_GRACE_DAYS_DEFAULT,
      incrementalChainMax: typeof chain === 'number' && Number.isInteger(chain) && chain >= 1 && chain <= BACKUP_INCREMENTAL_CHAIN_MAX ? chain : BACKUP_INCREMENTAL_CHAIN_DEFAULT,
    };
  }

  async saveSettings(actor: Actor, s: BackupSettingsView): Promise<BackupSettingsView> {
    await this.ds.transaction(async (m) => {
      const incrementalChainMax = s.incrementalChainMax ?? (await this.settings(m)).incrementalChainMax;
      await m.query(
        `INSERT INTO settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by`,
        [BACKUP_SETTINGS_KEY, JSON.stringify({ deletedServerGraceDays: s.deletedServerGraceDays, incrementalChainMax }), actor.userId],
      );
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'settings.backups', targetType: 'settings', targetId: null, ip: actor.ip, details: { deletedServerGraceDays: s.deletedServerGraceDays, incrementalChainMax } });
    });
    return this.settings();
  }
}
