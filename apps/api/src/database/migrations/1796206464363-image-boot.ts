import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How an image boots (`disk`: its own bootloader; `direct-kernel`: the node's kernel; NULL: the
 * node's choice, which is what every image did before) and the login cloud-init creates in it.
 */
export class ImageBoot1796206464363 implements MigrationInterface {
  name = 'ImageBoot1796206464363';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE images ADD COLUMN boot_mode varchar(16) CHECK (boot_mode IN ('disk', 'direct-kernel'))`);
    await q.query(`ALTER TABLE images ADD COLUMN default_user varchar(32) CHECK (default_user ~ '^[a-z_][a-z0-9_-]{0,31}$')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE images DROP COLUMN IF EXISTS default_user`);
    await q.query(`ALTER TABLE images DROP COLUMN IF EXISTS boot_mode`);
  }
}
