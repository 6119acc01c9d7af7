import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Billing: Stripe prices of plans, one billing row per ordered server (order key, checkout,
 * mirrored subscription, holds), mirrored invoices, and the inbox of verified webhook events.
 */
export class Billing1764100000000 implements MigrationInterface {
  name = 'Billing1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE billing_plan_prices (
        plan_id uuid PRIMARY KEY REFERENCES plans(id) ON DELETE CASCADE,
        stripe_product_id varchar(255) NOT NULL,
        stripe_price_id varchar(255) NOT NULL,
        unit_amount integer NOT NULL,
        currency char(3) NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE server_billing (
        server_id uuid PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        plan_id uuid REFERENCES plans(id) ON DELETE SET NULL,
        order_key uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
        checkout_session_id varchar(255) UNIQUE,
        checkout_url text,
        paid_at timestamptz,
        fulfilment varchar(16) NOT NULL DEFAULT 'pending' CHECK (fulfilment IN ('pending', 'provisioned', 'failed', 'void', 'none')),
        fulfilment_error text,
        stripe_subscription_id varchar(255) UNIQUE,
        subscription_status varchar(32),
        cancel_at_period_end boolean NOT NULL DEFAULT false,
        current_period_end timestamptz,
        subscription_ended_at timestamptz,
        subscription_synced_at timestamptz,
        past_due_since timestamptz,
        staff_hold boolean NOT NULL DEFAULT false,
        staff_hold_reason text,
        suspended_from varchar(32),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX server_billing_tenant_idx ON server_billing (tenant_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE billing_invoices (
        id varchar(255) PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        server_id uuid REFERENCES servers(id) ON DELETE SET NULL,
        stripe_subscription_id varchar(255),
        status varchar(32) NOT NULL,
        amount_due integer NOT NULL DEFAULT 0,
        amount_paid integer NOT NULL DEFAULT 0,
        currency char(3) NOT NULL,
        hosted_invoice_url text,
        number varchar(64),
        period_start timestamptz,
        period_end timestamptz,
        stripe_created timestamptz NOT NULL,
        state_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX billing_invoices_tenant_idx ON billing_invoices (tenant_id, stripe_created DESC)`);
    await q.query(`
      CREATE TABLE billing_events (
        id bigserial PRIMARY KEY,
        stripe_event_id varchar(255) NOT NULL UNIQUE,
        type varchar(128) NOT NULL,
        stripe_created timestamptz NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        outcome varchar(255),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        next_attempt_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX billing_events_pending_idx ON billing_events (next_attempt_at, stripe_created, id) WHERE processed_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['billing_events', 'billing_invoices', 'server_billing', 'billing_plan_prices']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
