import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backup schedules and retention (issue 12): one row per server that has a saved schedule (the others use the
 * defaults): daily or weekly (a weekday), a window in UTC, the GFS retention policy, and which window a scheduled
 * backup was last started for (`last_window_at`: once per window, across API replicas).
 */
export class BackupSchedules1796286000000 implements MigrationInterface {
  name = 'BackupSchedules1796286000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE backup_schedules (
        server_id uuid PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        enabled boolean NOT NULL DEFAULT false,
        frequency varchar(8) NOT NULL CHECK (frequency IN ('daily', 'weekly')),
        weekday smallint CHECK (weekday BETWEEN 0 AND 6),
        window_start_hour smallint NOT NULL CHECK (window_start_hour BETWEEN 0 AND 23),
        window_hours smallint NOT NULL CHECK (window_hours BETWEEN 1 AND 23),
        keep_last smallint NOT NULL CHECK (keep_last >= 1),
        keep_daily smallint NOT NULL CHECK (keep_daily >= 0),
        keep_weekly smallint NOT NULL CHECK (keep_weekly >= 0),
        keep_monthly smallint NOT NULL CHECK (keep_monthly >= 0),
        last_window_at timestamptz,
        last_error text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((frequency = 'weekly') = (weekday IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX backup_schedules_tenant_idx ON backup_schedules (tenant_id)`);
    await q.query(`CREATE INDEX backup_schedules_enabled_idx ON backup_schedules (server_id) WHERE enabled`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS backup_schedules`);
  }
}
