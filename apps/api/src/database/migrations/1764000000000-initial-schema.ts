import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema. Written by hand (never `synchronize`). UUIDs come from gen_random_uuid(),
 * built into PostgreSQL 13+ and PGlite, so no extension is needed.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(120) NOT NULL,
        stripe_customer_id varchar(255),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL,
        password_hash text NOT NULL,
        staff_role varchar(16) CHECK (staff_role IN ('admin', 'support', 'billing')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);
    await q.query(`
      CREATE TABLE memberships (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role varchar(16) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'billing')),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, user_id)
      )`);
    await q.query(`CREATE INDEX memberships_user_idx ON memberships (user_id)`);
    await q.query(`
      CREATE TABLE refresh_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason varchar(64),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX refresh_sessions_user_idx ON refresh_sessions (user_id)`);
    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES refresh_sessions(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL UNIQUE,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id)`);
    await q.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name varchar(120) NOT NULL,
        prefix varchar(16) NOT NULL,
        token_hash char(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id)`);
    await q.query(`
      CREATE TABLE ssh_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name varchar(120) NOT NULL,
        key_type varchar(32) NOT NULL,
        bits integer NOT NULL,
        public_key text NOT NULL,
        fingerprint varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, fingerprint)
      )`);
    await q.query(`CREATE INDEX ssh_keys_tenant_idx ON ssh_keys (tenant_id)`);
    await q.query(`
      CREATE TABLE locations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code varchar(32) NOT NULL UNIQUE,
        name varchar(120) NOT NULL,
        country char(2) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE plans (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(120) NOT NULL UNIQUE,
        vcpus integer NOT NULL CHECK (vcpus > 0),
        memory_mib integer NOT NULL CHECK (memory_mib >= 64),
        disk_gib integer NOT NULL CHECK (disk_gib > 0),
        cpu_quota_percent integer NOT NULL DEFAULT 100 CHECK (cpu_quota_percent BETWEEN 1 AND 100),
        disk_iops integer NOT NULL DEFAULT 0 CHECK (disk_iops >= 0),
        disk_mbps integer NOT NULL DEFAULT 0 CHECK (disk_mbps >= 0),
        net_mbit integer NOT NULL DEFAULT 0 CHECK (net_mbit >= 0),
        traffic_gib integer NOT NULL DEFAULT 0 CHECK (traffic_gib >= 0),
        price_monthly_cents integer NOT NULL CHECK (price_monthly_cents >= 0),
        currency char(3) NOT NULL DEFAULT 'EUR',
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE images (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(120) NOT NULL UNIQUE,
        os_family varchar(32) NOT NULL,
        version varchar(32) NOT NULL,
        url varchar(2048) NOT NULL,
        sha256 char(64) NOT NULL,
        format varchar(8) NOT NULL CHECK (format IN ('qcow2', 'raw')),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE nodes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(120) NOT NULL UNIQUE,
        location_id uuid NOT NULL REFERENCES locations(id) ON DELETE RESTRICT,
        state varchar(16) NOT NULL DEFAULT 'online' CHECK (state IN ('online', 'offline', 'maintenance')),
        vcpus integer NOT NULL CHECK (vcpus > 0),
        memory_mib integer NOT NULL CHECK (memory_mib > 0),
        disk_gib integer NOT NULL CHECK (disk_gib > 0),
        cpu_overcommit numeric(6,2) NOT NULL DEFAULT 4 CHECK (cpu_overcommit >= 1),
        memory_overcommit numeric(6,2) NOT NULL DEFAULT 1 CHECK (memory_overcommit >= 1),
        used_vcpus integer NOT NULL DEFAULT 0 CHECK (used_vcpus >= 0),
        used_memory_mib integer NOT NULL DEFAULT 0 CHECK (used_memory_mib >= 0),
        used_disk_gib integer NOT NULL DEFAULT 0 CHECK (used_disk_gib >= 0),
        nats_user varchar(120) NOT NULL,
        last_heartbeat_at timestamptz,
        daemon_version varchar(64),
        hypervisor varchar(256),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX nodes_location_idx ON nodes (location_id, state)`);
    await q.query(`
      CREATE TABLE ip_pools (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        location_id uuid NOT NULL REFERENCES locations(id) ON DELETE RESTRICT,
        family smallint NOT NULL CHECK (family IN (4, 6)),
        cidr cidr NOT NULL,
        gateway inet NOT NULL,
        first_offset numeric(40,0) NOT NULL,
        last_offset numeric(40,0) NOT NULL,
        total numeric(40,0) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (family(cidr) = family),
        CHECK (gateway << cidr),
        EXCLUDE USING gist (cidr inet_ops WITH &&)
      )`);
    await q.query(`CREATE INDEX ip_pools_location_idx ON ip_pools (location_id, family)`);
    await q.query(`
      CREATE TABLE servers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        plan_id uuid NOT NULL REFERENCES plans(id) ON DELETE RESTRICT,
        image_id uuid NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
        location_id uuid NOT NULL REFERENCES locations(id) ON DELETE RESTRICT,
        node_id uuid REFERENCES nodes(id) ON DELETE RESTRICT,
        hostname varchar(253) NOT NULL,
        state varchar(32) NOT NULL,
        vcpus integer NOT NULL,
        memory_mib integer NOT NULL,
        disk_gib integer NOT NULL,
        ssh_key_ids uuid[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX servers_tenant_idx ON servers (tenant_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX servers_node_idx ON servers (node_id) WHERE node_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE ip_addresses (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        pool_id uuid NOT NULL REFERENCES ip_pools(id) ON DELETE RESTRICT,
        "offset" numeric(40,0) NOT NULL,
        address inet NOT NULL UNIQUE,
        server_id uuid REFERENCES servers(id) ON DELETE SET NULL,
        tenant_id uuid REFERENCES tenants(id) ON DELETE SET NULL,
        reserved_for varchar(32),
        rdns varchar(253),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (pool_id, "offset")
      )`);
    await q.query(`CREATE INDEX ip_addresses_server_idx ON ip_addresses (server_id) WHERE server_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE tasks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        server_id uuid NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        node_id uuid REFERENCES nodes(id) ON DELETE SET NULL,
        op varchar(16) NOT NULL,
        state varchar(16) NOT NULL DEFAULT 'queued',
        progress real NOT NULL DEFAULT 0,
        stage varchar(64),
        error text,
        attempts integer NOT NULL DEFAULT 1,
        previous_state varchar(32),
        timings jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX tasks_tenant_idx ON tasks (tenant_id)`);
    await q.query(`CREATE INDEX tasks_server_idx ON tasks (server_id, created_at DESC)`);
    await q.query(`CREATE INDEX tasks_active_idx ON tasks (server_id) WHERE state IN ('queued', 'dispatched', 'running')`);
    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        task_id uuid NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        subject varchar(512) NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
      )`);
    await q.query(`CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL`);
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        tenant_id uuid,
        actor_user_id uuid,
        actor_kind varchar(16) NOT NULL,
        action varchar(64) NOT NULL,
        target_type varchar(32) NOT NULL,
        target_id varchar(64),
        ip varchar(64),
        details jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['audit_log', 'outbox', 'tasks', 'ip_addresses', 'servers', 'ip_pools', 'nodes', 'images', 'plans', 'locations', 'ssh_keys', 'api_tokens', 'refresh_tokens', 'refresh_sessions', 'memberships', 'users', 'tenants']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
