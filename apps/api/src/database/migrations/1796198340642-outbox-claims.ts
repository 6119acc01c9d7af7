import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The outbox relay claims a batch with a lease, commits, then publishes: no transaction is open across a publish. */
export class OutboxClaims1796198340642 implements MigrationInterface {
  name = 'OutboxClaims1796198340642';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN claimed_until timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS claimed_until`);
  }
}
