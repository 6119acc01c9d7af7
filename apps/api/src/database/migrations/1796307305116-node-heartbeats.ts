import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The node page's heartbeat history (issue 15): each node's last heartbeats (time on the node, time received,
 * domain count, load, daemon version), a bounded ring: the API keeps the newest NODE_HEARTBEAT_HISTORY per node.
 */
export class NodeHeartbeats1796307305116 implements MigrationInterface {
  name = 'NodeHeartbeats1796307305116';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE node_heartbeats (
        id bigserial PRIMARY KEY,
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        domains integer NOT NULL CHECK (domains >= 0),
        load1 real,
        daemon_version varchar(64)
      )`);
    await q.query(`CREATE INDEX node_heartbeats_node_idx ON node_heartbeats (node_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS node_heartbeats`);
  }
}
