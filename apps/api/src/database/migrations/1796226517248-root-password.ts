import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Logging in without a key: the crypt(3) hash of the root password the customer chose (never the password), kept
 * so that a paid-later order and a rebuild without a new password still seed it; and whether an image ships the
 * QEMU guest agent (what "Reset root password" needs).
 */
export class RootPassword1796226517248 implements MigrationInterface {
  name = 'RootPassword1796226517248';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE servers ADD COLUMN root_password_hash varchar(512) CHECK (root_password_hash ~ '^\\$6\\$')`);
    await q.query(`ALTER TABLE images ADD COLUMN guest_agent boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE images DROP COLUMN IF EXISTS guest_agent`);
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS root_password_hash`);
  }
}
