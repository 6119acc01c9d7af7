import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hourly billing (issue 11): a plan may be priced per hour (`price_hourly_cents`, NULL = monthly). Its Stripe price is
 * metered through a billing meter (`billing_plan_prices.stripe_meter_id`/`meter_event_name`). `billing_hours` is one row
 * per server and started hour (the hour index from the subscription's start): the primary key is what makes an hour
 * billed once across retries and API replicas; `reported_at` is set once Stripe took the meter event (whose identifier is
 * `<serverId>:<hourStart>`, Stripe's own dedupe for a lost answer). No foreign keys: billed hours outlive the server.
 * `server_billing.meter_hours` is how many hours were claimed; `meter_stopped_at` is when a deleted server's meter stopped (its last started hour is billed whole).
 */
export class HourlyBilling1796307245005 implements MigrationInterface {
  name = 'HourlyBilling1796307245005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE plans ADD COLUMN price_hourly_cents integer CHECK (price_hourly_cents IS NULL OR price_hourly_cents >= 1)`);
    await q.query(`ALTER TABLE billing_plan_prices ADD COLUMN stripe_meter_id varchar(255), ADD COLUMN meter_event_name varchar(100)`);
    await q.query(`ALTER TABLE server_billing ADD COLUMN meter_stopped_at timestamptz, ADD COLUMN meter_hours integer NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE TABLE billing_hours (
        server_id uuid NOT NULL,
        hour_start timestamptz NOT NULL,
        tenant_id uuid NOT NULL,
        plan_id uuid NOT NULL,
        stripe_customer_id varchar(255) NOT NULL,
        meter_event_name varchar(100) NOT NULL,
        reported_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (server_id, hour_start)
      )`);
    await q.query(`CREATE INDEX billing_hours_unreported_idx ON billing_hours (created_at) WHERE reported_at IS NULL`);
    await q.query(`CREATE INDEX billing_hours_tenant_idx ON billing_hours (tenant_id, hour_start DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS billing_hours`);
    await q.query(`ALTER TABLE server_billing DROP COLUMN IF EXISTS meter_stopped_at, DROP COLUMN IF EXISTS meter_hours`);
    await q.query(`ALTER TABLE billing_plan_prices DROP COLUMN IF EXISTS stripe_meter_id, DROP COLUMN IF EXISTS meter_event_name`);
    await q.query(`ALTER TABLE plans DROP COLUMN IF EXISTS price_hourly_cents`);
  }
}
