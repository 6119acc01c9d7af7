import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deleting a deleted server's backup from its store (issue 12): not a task (the server is gone) but a `store_delete`
 * node command to an online node of the store's location. The row is `deleting` with the request until that node's
 * answer (`backup.store_deleted`) arrives with the same request id; one left unanswered is asked again.
 */
export class BackupStoreDeletes1796420000100 implements MigrationInterface {
  name = 'BackupStoreDeletes1796420000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backups ADD COLUMN IF NOT EXISTS delete_request_id uuid`);
    await q.query(`ALTER TABLE backups ADD COLUMN IF NOT EXISTS delete_requested_at timestamptz`);
    await q.query(`ALTER TABLE backups ADD COLUMN IF NOT EXISTS delete_node_id uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backups DROP COLUMN IF EXISTS delete_node_id`);
    await q.query(`ALTER TABLE backups DROP COLUMN IF EXISTS delete_requested_at`);
    await q.query(`ALTER TABLE backups DROP COLUMN IF EXISTS delete_request_id`);
  }
}
