import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Single-use join tokens for hypervisors, and every NATS user a node was given (revocation list). */
export class NodeJoin1796205390840 implements MigrationInterface {
  name = 'NodeJoin1796205390840';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE node_join_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        token_sha256 bytea NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        used_from varchar(64),
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX node_join_tokens_node_idx ON node_join_tokens (node_id)`);
    // node_id is kept NULL after the node is deleted: its users stay on the revocation list.
    await q.query(`
      CREATE TABLE node_credentials (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        node_id uuid REFERENCES nodes(id) ON DELETE SET NULL,
        user_public_key varchar(56) NOT NULL UNIQUE,
        issued_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX node_credentials_node_idx ON node_credentials (node_id) WHERE revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE node_credentials');
    await q.query('DROP TABLE node_join_tokens');
  }
}
