import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts a provider can trust (issue 14): two-factor sign-in, a login throttle shared by every
 * API replica, email verification, password reset, invites, session details, staff settings and
 * the mail queue.
 */
export class Accounts1796167214576 implements MigrationInterface {
  name = 'Accounts1796167214576';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users
        ADD COLUMN email_verified_at timestamptz,
        ADD COLUMN password_changed_at timestamptz,
        ADD COLUMN totp_secret text,
        ADD COLUMN totp_enabled_at timestamptz,
        ADD COLUMN totp_last_step bigint,
        ADD COLUMN totp_pending_secret text,
        ADD COLUMN totp_pending_at timestamptz`);
    // Accounts made before verification existed count as verified: nobody can click a mail that was never sent.
    await q.query(`UPDATE users SET email_verified_at = created_at`);
    await q.query(`ALTER TABLE users ADD CONSTRAINT users_totp_enabled CHECK ((totp_enabled_at IS NULL) = (totp_secret IS NULL))`);

    await q.query(`
      ALTER TABLE refresh_sessions
        ADD COLUMN ip varchar(64),
        ADD COLUMN user_agent varchar(512),
        ADD COLUMN last_used_at timestamptz,
        ADD COLUMN two_factor boolean NOT NULL DEFAULT false`);
    await q.query(`UPDATE refresh_sessions SET last_used_at = created_at`);

    // One row per counted attempt (sliding window); every replica counts in the same table.
    await q.query(`
      CREATE TABLE auth_throttle (
        id bigserial PRIMARY KEY,
        key varchar(400) NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX auth_throttle_key_at ON auth_throttle (key, at)`);

    await q.query(`
      CREATE TABLE recovery_codes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash char(64) NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (user_id, code_hash)
      )`);

    // The first step of a two-factor login: grants nothing but the right to send a code.
    await q.query(`
      CREATE TABLE login_challenges (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL UNIQUE,
        ip varchar(64),
        user_agent varchar(512),
        failures integer NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX login_challenges_user_idx ON login_challenges (user_id)`);

    // Email verification and password reset links: single use, short-lived, stored hashed.
    await q.query(`
      CREATE TABLE one_time_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        purpose varchar(32) NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
        email varchar(254) NOT NULL,
        token_hash char(64) NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose)`);

    // Requests whose answer must not depend on whether the address has an account are stored as they
    // come and handled by the mail worker, so both kinds of request do the same work while the caller waits.
    await q.query(`
      CREATE TABLE account_requests (
        id bigserial PRIMARY KEY,
        kind varchar(32) NOT NULL CHECK (kind IN ('password_reset')),
        email varchar(254) NOT NULL,
        ip varchar(64),
        created_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz
      )`);
    await q.query(`CREATE INDEX account_requests_pending ON account_requests (id) WHERE processed_at IS NULL`);

    await q.query(`
      CREATE TABLE invites (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        email varchar(254) NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'billing')),
        token_hash char(64) NOT NULL UNIQUE,
        invited_by uuid REFERENCES users(id) ON DELETE SET NULL,
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        accepted_by uuid REFERENCES users(id) ON DELETE SET NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX invites_tenant_idx ON invites (tenant_id, created_at DESC)`);

    await q.query(`ALTER TABLE tenants ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false`);

    // Provider-wide settings staff change at run time (key → JSON value).
    await q.query(`
      CREATE TABLE settings (
        key varchar(64) PRIMARY KEY,
        value jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by uuid REFERENCES users(id) ON DELETE SET NULL
      )`);

    // Outgoing mail: written in the transaction of the change it tells about, sent by a worker with retries.
    await q.query(`
      CREATE TABLE mail_queue (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        to_address varchar(254) NOT NULL,
        template varchar(64) NOT NULL,
        subject text NOT NULL,
        payload text,
        state varchar(16) NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        last_error text,
        tenant_id uuid REFERENCES tenants(id) ON DELETE SET NULL,
        user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await q.query(`CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE state IN ('queued', 'sending')`);
    await q.query(`CREATE INDEX mail_queue_user_idx ON mail_queue (user_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['mail_queue', 'settings', 'invites', 'account_requests', 'one_time_tokens', 'login_challenges', 'recovery_codes', 'auth_throttle']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
    await q.query(`ALTER TABLE tenants DROP COLUMN IF EXISTS require_two_factor`);
    await q.query(`ALTER TABLE refresh_sessions DROP COLUMN IF EXISTS ip, DROP COLUMN IF EXISTS user_agent, DROP COLUMN IF EXISTS last_used_at, DROP COLUMN IF EXISTS two_factor`);
    await q.query(`ALTER TABLE users DROP CONSTRAINT IF EXISTS users_totp_enabled`);
    await q.query(`
      ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at, DROP COLUMN IF EXISTS password_changed_at, DROP COLUMN IF EXISTS totp_secret,
        DROP COLUMN IF EXISTS totp_enabled_at, DROP COLUMN IF EXISTS totp_last_step, DROP COLUMN IF EXISTS totp_pending_secret, DROP COLUMN IF EXISTS totp_pending_at`);
  }
}
