import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Incremental backups (issue 12): `kind` and `parent_id` were there from the start; a full backup taken where an
 * incremental was asked for, or where the API started a new chain, says why in `full_reason` (the panel and staff see
 * why a chain restarted). An incremental names its parent; a backup being made names the parent it was asked to follow
 * (so that parent cannot go meanwhile) until the node says what it made.
 */
export class BackupChains1796432700000 implements MigrationInterface {
  name = 'BackupChains1796432700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backups ADD COLUMN IF NOT EXISTS full_reason text`);
    await q.query(`ALTER TABLE backups ADD CONSTRAINT backups_incremental_parent CHECK (kind = 'full' OR parent_id IS NOT NULL)`);
    await q.query(`CREATE INDEX IF NOT EXISTS backups_parent_idx ON backups (parent_id) WHERE parent_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS backups_parent_idx`);
    await q.query(`ALTER TABLE backups DROP CONSTRAINT IF EXISTS backups_incremental_parent`);
    await q.query(`ALTER TABLE backups DROP COLUMN IF EXISTS full_reason`);
  }
}
