import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backup stores (issue 12): SFTP/SSH hosts off the hypervisors, per location, that staff configure. The columns
 * are the ones agreed with the backup engine (which may create the same table if it lands first: IF NOT EXISTS).
 * No private key: each node logs in with its own key pair. A store with backups is disabled, never deleted.
 */
export class BackupStores1796285276904 implements MigrationInterface {
  name = 'BackupStores1796285276904';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS backup_stores (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        location_id uuid NOT NULL REFERENCES locations(id),
        name text NOT NULL,
        kind text NOT NULL DEFAULT 'sftp' CHECK (kind IN ('sftp')),
        host text NOT NULL,
        port integer NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),
        username text NOT NULL,
        base_path text NOT NULL,
        host_key text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX IF NOT EXISTS backup_stores_name_key ON backup_stores (lower(name))`);
    await q.query(`CREATE INDEX IF NOT EXISTS backup_stores_location_idx ON backup_stores (location_id) WHERE enabled`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS backup_stores`);
  }
}
