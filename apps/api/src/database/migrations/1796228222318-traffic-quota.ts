import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Traffic quotas (issue 11): what a plan allows and how, each server's traffic per period (with the
 * traffic staff added and what the tenant was told), and the rate the quota wants, sent and had confirmed.
 */
export class TrafficQuota1796228222318 implements MigrationInterface {
  name = 'TrafficQuota1796228222318';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE plans ADD COLUMN traffic_direction varchar(4) NOT NULL DEFAULT 'both' CHECK (traffic_direction IN ('in', 'out', 'both')),
      ADD COLUMN traffic_period varchar(12) NOT NULL DEFAULT 'calendar' CHECK (traffic_period IN ('calendar', 'anniversary')),
      ADD COLUMN over_quota_mbit integer NOT NULL DEFAULT 10 CHECK (over_quota_mbit > 0)`);
    await q.query(`ALTER TABLE servers ADD COLUMN throttle_mbit integer NOT NULL DEFAULT 0, ADD COLUMN throttle_sent_mbit integer NOT NULL DEFAULT 0,
      ADD COLUMN throttle_applied_mbit integer NOT NULL DEFAULT 0`);
    // the start of the traffic period that holds t: the 1st of the month (UTC), or the server's creation day
    // of the month (months counted from the creation itself, so Jan 31 gives Feb 28 and then Mar 31)
    await q.query(`CREATE FUNCTION oblako_traffic_period_start(created timestamptz, period varchar, t timestamptz) RETURNS timestamptz
      LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN period = 'calendar' THEN date_trunc('month', t, 'UTC')
          ELSE (SELECT created + make_interval(months => m - CASE WHEN created + make_interval(months => m) > t THEN 1 ELSE 0 END)
                  FROM (SELECT ((extract(year FROM t AT TIME ZONE 'UTC') - extract(year FROM created AT TIME ZONE 'UTC')) * 12
                              + extract(month FROM t AT TIME ZONE 'UTC') - extract(month FROM created AT TIME ZONE 'UTC'))::int AS m) mm)
        END $$`);
    await q.query(`CREATE TABLE server_traffic (
      server_id uuid NOT NULL, period_start timestamptz NOT NULL,
      in_bytes bigint NOT NULL DEFAULT 0, out_bytes bigint NOT NULL DEFAULT 0, extra_bytes bigint NOT NULL DEFAULT 0,
      warned boolean NOT NULL DEFAULT false, reached boolean NOT NULL DEFAULT false,
      PRIMARY KEY (server_id, period_start))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS server_traffic`);
    await q.query(`DROP FUNCTION IF EXISTS oblako_traffic_period_start`);
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS throttle_mbit, DROP COLUMN IF EXISTS throttle_sent_mbit, DROP COLUMN IF EXISTS throttle_applied_mbit`);
    await q.query(`ALTER TABLE plans DROP COLUMN IF EXISTS traffic_direction, DROP COLUMN IF EXISTS traffic_period, DROP COLUMN IF EXISTS over_quota_mbit`);
  }
}
