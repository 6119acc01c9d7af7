import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Orders carry the client's Idempotency-Key, so a retried POST /servers returns the first order instead of making a second server. */
export class OrderIdempotency1764200000000 implements MigrationInterface {
  name = 'OrderIdempotency1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE servers ADD COLUMN idempotency_key varchar(128)`);
    await q.query(`CREATE UNIQUE INDEX servers_idempotency_key ON servers (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS servers_idempotency_key`);
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS idempotency_key`);
  }
}
