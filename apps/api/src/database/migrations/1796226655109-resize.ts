import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Resize: the plan a server is moving to while its resize runs (capacity for it is already held on the node),
 * and a flag on the billing row saying its Stripe subscription item still has to move to the new plan's price.
 */
export class Resize1796226655109 implements MigrationInterface {
  name = 'Resize1796226655109';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE servers ADD COLUMN resize_plan_id uuid REFERENCES plans(id) ON DELETE SET NULL`);
    await q.query(`ALTER TABLE server_billing ADD COLUMN stripe_price_pending boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE INDEX server_billing_price_pending_idx ON server_billing (server_id) WHERE stripe_price_pending`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS server_billing_price_pending_idx`);
    await q.query(`ALTER TABLE server_billing DROP COLUMN IF EXISTS stripe_price_pending`);
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS resize_plan_id`);
  }
}
