import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliation of heartbeats against the database (issue 9):
 * - `servers.domain_missing_since`: since when the server's node has reported no domain for it (NULL while it
 *   does, or while a task runs); past the grace period the server turns `error`.
 * - `servers.state_reason`: why the control plane put the server in its state (e.g. "the hypervisor lost this
 *   server"); cleared by the next change of state.
 * - `node_orphans`: domains a node holds that it should not (the server lives elsewhere or is gone), first seen
 *   when; the node is told to destroy them in the answer to its heartbeat, audited once.
 */
export class Reconciliation1796228500272 implements MigrationInterface {
  name = 'Reconciliation1796228500272';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE servers ADD COLUMN domain_missing_since timestamptz`);
    await q.query(`ALTER TABLE servers ADD COLUMN state_reason text`);
    await q.query(`CREATE INDEX servers_domain_missing_idx ON servers (node_id) WHERE domain_missing_since IS NOT NULL`);
    await q.query(`
      CREATE TABLE node_orphans (
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        server_id uuid NOT NULL,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (node_id, server_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS node_orphans`);
    await q.query(`DROP INDEX IF EXISTS servers_domain_missing_idx`);
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS state_reason`);
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS domain_missing_since`);
  }
}
