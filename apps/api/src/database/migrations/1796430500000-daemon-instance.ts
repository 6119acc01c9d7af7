import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The daemon process a node's heartbeats last came from (`instanceId`, a random id each daemon start). When a
 * heartbeat names another one, the daemon was restarted: the commands the old process held unacknowledged are
 * handed to the new one at once instead of after the consumer's 60 s ack wait (HeartbeatsService.redrive).
 */
export class DaemonInstance1796430500000 implements MigrationInterface {
  name = 'DaemonInstance1796430500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes ADD COLUMN daemon_instance uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes DROP COLUMN daemon_instance`);
  }
}
