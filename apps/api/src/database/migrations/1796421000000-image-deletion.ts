import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deleting an image (issue 13): servers are never removed (a deleted server keeps its row and its image id), so a
 * deleted image stays as a tombstone (`deleted_at`, `active` false): staff no longer see it, nothing can order,
 * rebuild to or verify it, and the history of the servers made from it still names it. Its name is free again:
 * the name is unique among live images only.
 */
export class ImageDeletion1796421000000 implements MigrationInterface {
  name = 'ImageDeletion1796421000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE images ADD COLUMN deleted_at timestamptz`);
    await q.query(`ALTER TABLE images DROP CONSTRAINT images_name_key`);
    await q.query(`CREATE UNIQUE INDEX images_name_live_key ON images (name) WHERE deleted_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM images WHERE deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM servers s WHERE s.image_id = images.id)`);
    await q.query(`DROP INDEX IF EXISTS images_name_live_key`);
    await q.query(`ALTER TABLE images ADD CONSTRAINT images_name_key UNIQUE (name)`);
    await q.query(`ALTER TABLE images DROP COLUMN deleted_at`);
  }
}
