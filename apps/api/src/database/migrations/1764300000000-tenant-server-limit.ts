import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A per-tenant cap on live servers, set by staff; NULL = no cap. */
export class TenantServerLimit1764300000000 implements MigrationInterface {
  name = 'TenantServerLimit1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants ADD COLUMN server_limit integer CHECK (server_limit >= 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants DROP COLUMN IF EXISTS server_limit`);
  }
}
