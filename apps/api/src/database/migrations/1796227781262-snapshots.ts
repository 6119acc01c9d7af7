import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Server snapshots (internal qcow2 snapshots on the server's node): one row per snapshot, the space it takes on the
 * node (whole GiB added to the node's used disk), an optional expiry; plans say how many a server may keep.
 */
export class Snapshots1796227781262 implements MigrationInterface {
  name = 'Snapshots1796227781262';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE plans ADD COLUMN max_snapshots integer NOT NULL DEFAULT 3 CHECK (max_snapshots BETWEEN 0 AND 100)`);
    await q.query(`
      CREATE TABLE server_snapshots (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        server_id uuid NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        node_id uuid NOT NULL,
        name varchar(120) NOT NULL,
        state varchar(16) NOT NULL CHECK (state IN ('creating', 'ready', 'deleting')),
        with_memory boolean NOT NULL,
        size_bytes bigint NOT NULL DEFAULT 0,
        reserved_gib integer NOT NULL DEFAULT 0,
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX server_snapshots_tenant_server_idx ON server_snapshots (tenant_id, server_id)`);
    await q.query(`CREATE INDEX server_snapshots_expiry_idx ON server_snapshots (expires_at) WHERE expires_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS server_snapshots`);
    await q.query(`ALTER TABLE plans DROP COLUMN IF EXISTS max_snapshots`);
  }
}
