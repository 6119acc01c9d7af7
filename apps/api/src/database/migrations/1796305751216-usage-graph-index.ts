import type { MigrationInterface, QueryRunner } from 'typeorm';

const COLUMNS = 'seconds, samples, cpu_ns, disk_read_bytes, disk_write_bytes, disk_read_ops, disk_write_ops, net_in_bytes, net_out_bytes, memory_bytes_max';

/**
 * The 30-day graph of one server reads ~720 hourly rollup rows. The ingest writes them an hour at a time for
 * every server, so one server's rows sit on ~720 different heap pages (EXPLAIN ANALYZE: 729 buffers, 2.8 ms
 * warm, 32 ms cold, plus a sort). The primary key now carries the counters (INCLUDE), so the graph is an
 * index-only scan in bucket order: 16 buffers, 0.5 ms warm. It replaces the key rather than adding a second
 * index, so the ingest still maintains one index for the rows it upserts (ON CONFLICT uses the key columns).
 */
export class UsageGraphIndex1796305751216 implements MigrationInterface {
  name = 'UsageGraphIndex1796305751216';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_rollups DROP CONSTRAINT usage_rollups_pkey,
      ADD CONSTRAINT usage_rollups_pkey PRIMARY KEY (server_id, level, bucket) INCLUDE (${COLUMNS})`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_rollups DROP CONSTRAINT usage_rollups_pkey, ADD CONSTRAINT usage_rollups_pkey PRIMARY KEY (server_id, level, bucket)`);
  }
}
