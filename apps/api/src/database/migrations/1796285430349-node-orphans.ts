import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Orphans are acted on (issue 9): `node_orphans` (made by the reconciliation migration, unused until now) gets what
 * staff need to see and what the heartbeat reconciliation needs to tell a node once, not at every beat:
 * - `reason`: `elsewhere` (the server lives on another node), `deleted`, or `unknown` (no such server: recorded,
 *   never destroyed automatically);
 * - `last_seen_at`: the newest heartbeat that listed it;
 * - `told_at`, `told_count`: when the node was last told to destroy it, and how often;
 * - `outcome`, `outcome_message`, `resolved_at`: the node's answer (`destroyed`, `gone`, `kept`, `refused`).
 */
export class NodeOrphans1796285430349 implements MigrationInterface {
  name = 'NodeOrphans1796285430349';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE node_orphans
      ADD COLUMN reason text NOT NULL DEFAULT 'elsewhere' CHECK (reason IN ('elsewhere', 'deleted', 'unknown')),
      ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN told_at timestamptz,
      ADD COLUMN told_count int NOT NULL DEFAULT 0,
      ADD COLUMN outcome text CHECK (outcome IN ('destroyed', 'gone', 'kept', 'refused')),
      ADD COLUMN outcome_message text,
      ADD COLUMN resolved_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE node_orphans DROP COLUMN reason, DROP COLUMN last_seen_at, DROP COLUMN told_at, DROP COLUMN told_count,
      DROP COLUMN outcome, DROP COLUMN outcome_message, DROP COLUMN resolved_at`);
  }
}
