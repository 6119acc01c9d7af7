import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One-time console tickets: only the SHA-256 of the secret is stored; a ticket is bound to the
 * user, the server (and its tenant) and the console kind, expires ~30 s after issue and is spent
 * by the conditional UPDATE that redeems it.
 */
export class ConsoleTickets1796196705708 implements MigrationInterface {
  name = 'ConsoleTickets1796196705708';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE console_tickets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token_hash bytea NOT NULL UNIQUE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        server_id uuid NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        kind varchar(16) NOT NULL CHECK (kind IN ('vnc', 'serial')),
        as_staff boolean NOT NULL,
        actor_kind varchar(16) NOT NULL,
        ip varchar(64),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    await q.query(`CREATE INDEX console_tickets_tenant_idx ON console_tickets (tenant_id)`);
    await q.query(`CREATE INDEX console_tickets_expires_idx ON console_tickets (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS console_tickets`);
  }
}
