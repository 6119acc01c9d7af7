import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A registered node is `pending` until its daemon's first heartbeat; placement takes only `online` nodes. */
export class NodePending1796198412929 implements MigrationInterface {
  name = 'NodePending1796198412929';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes DROP CONSTRAINT IF EXISTS nodes_state_check`);
    await q.query(`ALTER TABLE nodes ADD CONSTRAINT nodes_state_check CHECK (state IN ('pending', 'online', 'offline', 'maintenance'))`);
    await q.query(`ALTER TABLE nodes ALTER COLUMN state SET DEFAULT 'pending'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE nodes SET state = 'offline' WHERE state = 'pending'`);
    await q.query(`ALTER TABLE nodes DROP CONSTRAINT IF EXISTS nodes_state_check`);
    await q.query(`ALTER TABLE nodes ADD CONSTRAINT nodes_state_check CHECK (state IN ('online', 'offline', 'maintenance'))`);
    await q.query(`ALTER TABLE nodes ALTER COLUMN state SET DEFAULT 'online'`);
  }
}
