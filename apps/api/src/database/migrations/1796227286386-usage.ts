import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage metering (issue 11): raw samples from the nodes (kept briefly; their id is the idempotent key) and
 * rollups at three levels (5 minutes, 1 hour, 1 day), each with its own retention. Neither refers to
 * servers by a foreign key: usage outlives a server's deletion (billing, history).
 */
export class Usage1796227286386 implements MigrationInterface {
  name = 'Usage1796227286386';

  async up(q: QueryRunner): Promise<void> {
    const counters = `cpu_ns bigint NOT NULL, disk_read_bytes bigint NOT NULL, disk_write_bytes bigint NOT NULL,
      disk_read_ops bigint NOT NULL, disk_write_ops bigint NOT NULL, net_in_bytes bigint NOT NULL, net_out_bytes bigint NOT NULL`;
    await q.query(`CREATE TABLE usage_samples (
      id uuid PRIMARY KEY, server_id uuid NOT NULL, node_id uuid NOT NULL,
      from_at timestamptz NOT NULL, to_at timestamptz NOT NULL, ${counters}, memory_bytes bigint)`);
    await q.query(`CREATE INDEX usage_samples_server ON usage_samples (server_id, to_at)`);
    await q.query(`CREATE INDEX usage_samples_node ON usage_samples (node_id, to_at)`);
    await q.query(`CREATE INDEX usage_samples_age ON usage_samples USING brin (to_at)`);
    await q.query(`CREATE TABLE usage_rollups (
      server_id uuid NOT NULL, level varchar(2) NOT NULL CHECK (level IN ('5m', '1h', '1d')), bucket timestamptz NOT NULL,
      node_id uuid NOT NULL, seconds double precision NOT NULL, samples integer NOT NULL, ${counters}, memory_bytes_max bigint,
      PRIMARY KEY (server_id, level, bucket))`);
    await q.query(`CREATE INDEX usage_rollups_node ON usage_rollups (node_id, level, bucket)`);
    await q.query(`CREATE INDEX usage_rollups_age ON usage_rollups (level, bucket)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS usage_rollups`);
    await q.query(`DROP TABLE IF EXISTS usage_samples`);
  }
}
