import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Staff suspend whole tenants: when and why (both set or both NULL). */
export class TenantSuspension1764400000000 implements MigrationInterface {
  name = 'TenantSuspension1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants ADD COLUMN suspended_at timestamptz, ADD COLUMN suspended_reason text`);
    await q.query(`ALTER TABLE tenants ADD CONSTRAINT tenants_suspension_reason CHECK ((suspended_at IS NULL) = (suspended_reason IS NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_suspension_reason`);
    await q.query(`ALTER TABLE tenants DROP COLUMN IF EXISTS suspended_reason, DROP COLUMN IF EXISTS suspended_at`);
  }
}
