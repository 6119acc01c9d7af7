import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backups (issue 12): one row per backup of a server on a backup store. `server_id` has no foreign key that would
 * cascade: a deleted server's backups stay (restorable into a new server within the staff's grace days), so the
 * server's name is kept with them. `store_id` references the store (a store holding backups cannot be deleted).
 * Nodes report their own SSH public key for the stores' authorized_keys: `nodes.backup_public_key`.
 */
export class Backups1796305724011 implements MigrationInterface {
  name = 'Backups1796305724011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS backups (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id),
        server_id uuid NOT NULL,
        server_name text NOT NULL,
        store_id uuid NOT NULL REFERENCES backup_stores(id),
        node_id uuid,
        task_id uuid,
        state text NOT NULL CHECK (state IN ('pending', 'running', 'ready', 'failed', 'deleting')),
        kind text NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'incremental')),
        parent_id uuid REFERENCES backups(id),
        trigger text NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
        size_bytes bigint NOT NULL DEFAULT 0,
        bytes_moved bigint NOT NULL DEFAULT 0,
        sha256 text CHECK (sha256 IS NULL OR sha256 ~ '^[a-f0-9]{64}$'),
        duration_ms integer,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX IF NOT EXISTS backups_server_idx ON backups (server_id, created_at)`);
    await q.query(`CREATE INDEX IF NOT EXISTS backups_tenant_idx ON backups (tenant_id)`);
    await q.query(`CREATE INDEX IF NOT EXISTS backups_store_idx ON backups (store_id)`);
    await q.query(`ALTER TABLE nodes ADD COLUMN IF NOT EXISTS backup_public_key text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes DROP COLUMN IF EXISTS backup_public_key`);
    await q.query(`DROP TABLE IF EXISTS backups`);
  }
}
