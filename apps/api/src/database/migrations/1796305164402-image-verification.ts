import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verified images (issues 13 and 15): where each image stands on each node. An image is offered to customers only
 * once a node has fetched it and checked its sha256 (`verified` for the image's current checksum: a row for an older
 * checksum counts for nothing). `failed` keeps the node's reason; `request_id` matches an answer to its request.
 */
export class ImageVerification1796305164402 implements MigrationInterface {
  name = 'ImageVerification1796305164402';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE image_node_states (
        image_id uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        sha256 char(64) NOT NULL,
        state varchar(16) NOT NULL CHECK (state IN ('verifying', 'verified', 'failed')),
        reason text,
        request_id uuid,
        requested_at timestamptz,
        checked_at timestamptz,
        PRIMARY KEY (image_id, node_id)
      )`);
    await q.query(`CREATE INDEX image_node_states_node_idx ON image_node_states (node_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS image_node_states`);
  }
}
