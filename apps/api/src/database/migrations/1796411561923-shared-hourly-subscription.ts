import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's hourly servers share one Stripe subscription (billing/hourly-subscription.service.ts): Stripe sums a
 * meter's events per customer, so one metered price may sit on only one subscription item of the customer. The
 * subscription id is therefore no longer unique per server_billing row; it stays indexed (events find their rows by it).
 */
export class SharedHourlySubscription1796411561923 implements MigrationInterface {
  name = 'SharedHourlySubscription1796411561923';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE server_billing DROP CONSTRAINT IF EXISTS server_billing_stripe_subscription_id_key`);
    await q.query(`CREATE INDEX IF NOT EXISTS server_billing_subscription_idx ON server_billing (stripe_subscription_id) WHERE stripe_subscription_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS server_billing_subscription_idx`);
    await q.query(`ALTER TABLE server_billing ADD CONSTRAINT server_billing_stripe_subscription_id_key UNIQUE (stripe_subscription_id)`);
  }
}
