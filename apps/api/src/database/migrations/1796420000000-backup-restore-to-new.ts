import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Restore into a new server (issue 12): a backup records the size of the disk as the guest saw it
 * (`virtual_size_bytes`: a plan for a restore must have at least this disk), and a server made from a backup names it
 * (`restored_from_backup_id`), so a create placed again, or placed only once paid, still carries the restore. No
 * foreign key: the backup may be deleted later, the server keeps the id as history.
 */
export class BackupRestoreToNew1796420000000 implements MigrationInterface {
  name = 'BackupRestoreToNew1796420000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backups ADD COLUMN IF NOT EXISTS virtual_size_bytes bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE servers ADD COLUMN IF NOT EXISTS restored_from_backup_id uuid`);
    await q.query(`CREATE INDEX IF NOT EXISTS servers_restored_from_idx ON servers (restored_from_backup_id) WHERE restored_from_backup_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS servers_restored_from_idx`);
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS restored_from_backup_id`);
    await q.query(`ALTER TABLE backups DROP COLUMN IF EXISTS virtual_size_bytes`);
  }
}
