import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hourly billing's weak points (issue 11):
 * - `billing_hours.next_attempt_at`: a failed meter-event report is retried with bounded exponential backoff and jitter,
 *   not on every sweep; `invoice_item_id`: an hour billed on a one-off invoice item after Stripe itself ended the
 *   subscription (it is then never reported as a meter event, and never billed twice).
 * - `billing_hourly_ends`: how each hourly subscription ended. `invoice_now` = we cancelled it with its usage invoiced at
 *   once (written before the cancel call, so its own `customer.subscription.deleted` cannot be mistaken for Stripe's);
 *   `stripe` = Stripe ended it (unpaid, or cancelled in the dashboard) without invoicing the period's hours, which the
 *   meter sweep then bills as invoice items (`settled_at`, `invoice_id`).
 */
export class HourlySettlement1796433000000 implements MigrationInterface {
  name = 'HourlySettlement1796433000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE billing_hours ADD COLUMN next_attempt_at timestamptz, ADD COLUMN invoice_item_id varchar(255)`);
    await q.query(`
      CREATE TABLE billing_hourly_ends (
        stripe_subscription_id varchar(255) PRIMARY KEY,
        tenant_id uuid NOT NULL,
        how varchar(16) NOT NULL CHECK (how IN ('invoice_now', 'stripe')),
        period_start timestamptz,
        ended_at timestamptz,
        settled_at timestamptz,
        invoice_id varchar(255),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX billing_hourly_ends_unsettled_idx ON billing_hourly_ends (created_at) WHERE settled_at IS NULL AND how = 'stripe'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS billing_hourly_ends`);
    await q.query(`ALTER TABLE billing_hours DROP COLUMN IF EXISTS next_attempt_at, DROP COLUMN IF EXISTS invoice_item_id`);
  }
}
