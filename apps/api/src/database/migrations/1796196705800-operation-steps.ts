import type { MigrationInterface, QueryRunner } from 'typeorm';

/** An operation may plan several steps (each a command aimed at a node); the ones not yet sent wait on the task. */
export class OperationSteps1796196705800 implements MigrationInterface {
  name = 'OperationSteps1796196705800';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tasks ADD COLUMN pending_steps jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tasks DROP COLUMN IF EXISTS pending_steps`);
  }
}
