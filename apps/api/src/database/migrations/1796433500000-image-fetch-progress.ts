import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An image's fetch under way on a node (issue 13): the latest `image.progress` of the current request (bytes so far,
 * the file's total when the source says), shown to staff as "fetching 43 %"; cleared by each new request.
 */
export class ImageFetchProgress1796433500000 implements MigrationInterface {
  name = 'ImageFetchProgress1796433500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE image_node_states ADD COLUMN progress_bytes bigint, ADD COLUMN progress_total bigint, ADD COLUMN progress_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE image_node_states DROP COLUMN progress_bytes, DROP COLUMN progress_total, DROP COLUMN progress_at`);
  }
}
