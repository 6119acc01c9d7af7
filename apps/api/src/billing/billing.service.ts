import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { Actor } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { BillingClock } from './billing.clock.js';
import { BillingError } from './billing.errors.js';
import { BillingReconciler } from './billing-reconciler.service.js';
import type { AdminOrderView, BillingEventView, BillingStatusView, InvoiceView, SubscriptionView, UpcomingInvoiceView } from './billing.views.js';
import { STRIPE } from './stripe.client.js';

interface SubRow {
  server_id: string; tenant_id: string; hostname: string; server_state: string; plan_id: string | null; fulfilment: string; fulfilment_error: string | null;
  checkout_url: string | null; stripe_subscription_id: string | null; subscription_status: string | null; cancel_at_period_end: boolean;
  current_period_end: Date | null; subscription_ended_at: Date | null; past_due_since: Date | null; staff_hold: boolean; staff_hold_reason: string | null;
  created_at: Date;
}

const SUB_SELECT = `SELECT sb.server_id, sb.tenant_id, s.hostname, s.state AS server_state, sb.plan_id, sb.fulfilment, sb.fulfilment_error, sb.checkout_url,
       sb.stripe_subscription_id, sb.subscription_status, sb.cancel_at_period_end, sb.current_period_end, sb.subscription_ended_at,
       sb.past_due_since, sb.staff_hold, sb.staff_hold_reason, sb.created_at
  FROM server_billing sb JOIN servers s ON s.id = sb.server_id AND s.tenant_id = sb.tenant_id`;

/** Tenant-facing billing (mirrored subscriptions and invoices, cancellation, portal) and staff holds. */
@Injectable()
export class BillingService {
  private readonly logger = new Logger('Billing');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BillingClock) private readonly clock: BillingClock,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(BillingReconciler) private readonly reconciler: BillingReconciler,
  ) {}

  status(): BillingStatusView {
    const b = this.config.billing;
    return { billing: b.enabled ? 'on' : 'off', graceHours: b.graceHours, retentionDays: b.retentionDays };
  }

  async subscriptions(tenantId: string): Promise<SubscriptionView[]> {
    const rows: SubRow[] = await this.ds.query(`${SUB_SELECT} WHERE sb.tenant_id = $1 AND sb.fulfilment <> 'none' ORDER BY sb.created_at DESC LIMIT 500`, [tenantId]);
    return rows.map(subscriptionView);
  }

  async subscription(tenantId: string, serverId: string): Promise<SubscriptionView> {
    return subscriptionView(await this.requireRow(tenantId, serverId));
  }

  async invoices(tenantId: string): Promise<InvoiceView[]> {
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT id, server_id, status, amount_due, amount_paid, currency, hosted_invoice_url, number, period_start, period_end, stripe_created
         FROM billing_invoices WHERE tenant_id = $1 ORDER BY stripe_created DESC, id DESC LIMIT 500`,
      [tenantId],
    );
    return rows.map((r) => ({
      id: r.id as string,
      serverId: (r.server_id as string | null) ?? null,
      status: r.status as string,
      amountDue: r.amount_due as number,
      amountPaid: r.amount_paid as number,
      currency: (r.currency as string).trim(),
      hostedInvoiceUrl: (r.hosted_invoice_url as string | null) ?? null,
      number: (r.number as string | null) ?? null,
      periodStart: iso(r.period_start as Date | null),
      periodEnd: iso(r.period_end as Date | null),
      createdAt: (r.stripe_created as Date).toISOString(),
    }));
  }

  /**
   * The next invoice of each of the tenant's live servers, as Stripe previews it (`invoices.createPreview`, once per
   * subscription). A monthly server has its own subscription and its lines are Stripe's. The tenant's hourly servers
   * share one subscription whose lines are per plan (the plan's meter sums the hours of all its servers), so each
   * hourly server's entry shows its own part: its hours this period per plan, as reported to Stripe, at the plan's
   * rate; `subscriptionAmountDue` is Stripe's total of the shared invoice (the sum of those parts). A subscription
   * Stripe cannot preview (ended meanwhile) is left out.
   */
  async upcoming(tenantId: string): Promise<UpcomingInvoiceView[]> {
    const stripe = this.stripe;
    if (!stripe) return [];
    const rows: { server_id: string; hostname: string; stripe_subscription_id: string; plan_name: string | null; hourly: boolean; stripe_customer_id: string; hours: number }[] = await this.ds.query(
      `SELECT sb.server_id, s.hostname, sb.stripe_subscription_id, p.name AS plan_name, (p.price_hourly_cents IS NOT NULL) AS hourly, t.stripe_customer_id,
              (SELECT count(*)::int FROM billing_hours bh WHERE bh.server_id = sb.server_id AND bh.reported_at IS NOT NULL) AS hours
         FROM server_billing sb JOIN servers s ON s.id = sb.server_id AND s.tenant_id = sb.tenant_id
         JOIN tenants t ON t.id = sb.tenant_id LEFT JOIN plans p ON p.id = sb.plan_id
        WHERE sb.tenant_id = $1 AND sb.stripe_subscription_id IS NOT NULL AND sb.subscription_ended_at IS NULL AND t.stripe_customer_id IS NOT NULL
        ORDER BY sb.created_at DESC LIMIT 100`,
      [tenantId],
    );
    const previews = new Map<string, Stripe.Invoice | null>();
    const out: UpcomingInvoiceView[] = [];
    for (const r of rows) {
      if (!previews.has(r.stripe_subscription_id)) {
        try {
          previews.set(r.stripe_subscription_id, await stripe.invoices.createPreview({ customer: r.stripe_customer_id, subscription: r.stripe_subscription_id }));
        } catch (err) {
          this.logger.warn(`Previewing the next invoice of subscription ${r.stripe_subscription_id} failed: ${(err as Error).message}`);
          previews.set(r.stripe_subscription_id, null);
        }
      }
      const invoice = previews.get(r.stripe_subscription_id);
      if (!invoice) continue;
      const lines = r.hourly ? await this.hourLines(r.server_id, invoice) : invoice.lines.data.map((l) => ({
        description: l.description ?? '', quantity: l.quantity ?? 0, amount: l.amount,
        unitAmount: l.pricing?.unit_amount_decimal ? Number(l.pricing.unit_amount_decimal) : null,
        periodStart: new Date(l.period.start * 1000).toISOString(), periodEnd: new Date(l.period.end * 1000).toISOString(),
      }));
      out.push({
        serverId: r.server_id, hostname: r.hostname, planName: r.plan_name, billedPer: r.hourly ? 'hour' : 'month', hoursReported: r.hours,
        subscriptionId: r.stripe_subscription_id, subscriptionAmountDue: invoice.amount_due,
        amountDue: lines.reduce((n, l) => n + l.amount, 0), currency: invoice.currency, periodEnd: invoice.period_end ? new Date(invoice.period_end * 1000).toISOString() : null,
        lines,
      });
    }
    return out;
  }

  /** An hourly server's part of its subscription's next invoice: its reported hours in the invoice's period, per plan. */
  private async hourLines(serverId: string, invoice: Stripe.Invoice): Promise<UpcomingInvoiceView['lines']> {
    const from = new Date(invoice.period_start * 1000);
    const to = new Date(invoice.period_end * 1000);
    const rows: { name: string; rate: number; hours: number }[] = await this.ds.query(
      `SELECT p.name, p.price_hourly_cents AS rate, count(*)::int AS hours FROM billing_hours bh JOIN plans p ON p.id = bh.plan_id
        WHERE bh.server_id = $1 AND bh.reported_at IS NOT NULL AND bh.hour_start >= $2 AND bh.hour_start < $3
        GROUP BY p.id, p.name, p.price_hourly_cents ORDER BY min(bh.hour_start)`,
      [serverId, from, to],
    );
    return rows.map((r) => ({
      description: `${r.hours} × ${r.name} (at ${(r.rate / 100).toFixed(2)} / hour)`, quantity: r.hours, unitAmount: r.rate, amount: r.hours * r.rate,
      periodStart: from.toISOString(), periodEnd: to.toISOString(),
    }));
  }

  /** Cancel at the end of the paid period (Stripe keeps charging nothing more; customer.subscription.deleted follows then). */
  async cancel(tenantId: string, actor: Actor, serverId: string): Promise<SubscriptionView> {
    return this.setCancelAtPeriodEnd(tenantId, actor, serverId, true);
  }

  /** Undo a cancellation before the period ends. */
  async resume(tenantId: string, actor: Actor, serverId: string): Promise<SubscriptionView> {
    return this.setCancelAtPeriodEnd(tenantId, actor, serverId, false);
  }

  private async setCancelAtPeriodEnd(tenantId: string, actor: Actor, serverId: string, cancel: boolean): Promise<SubscriptionView> {
    const stripe = this.requireStripe();
    const row = await this.requireRow(tenantId, serverId);
    if (!row.stripe_subscription_id) throw new BillingError('subscription_not_found', 'This server has no subscription yet (the order is not paid); delete the server instead.');
    if (row.subscription_ended_at) throw new BillingError('not_payable', 'The subscription has already ended.');
    const [plan]: { hourly: boolean }[] = await this.ds.query('SELECT price_hourly_cents IS NOT NULL AS hourly FROM plans WHERE id = $1', [row.plan_id]);
    if (plan?.hourly) {
      // the team's hourly servers share one subscription: cancelling it would end all of them
      throw new BillingError('not_payable', 'A server billed by the hour is billed until it is deleted: delete the server to stop its hours.');
    }
    let sub: Stripe.Subscription;
    try {
      // Setting the flag is idempotent by itself (no idempotency key: a later resume/cancel must not replay an earlier answer).
      sub = await stripe.subscriptions.update(row.stripe_subscription_id, { cancel_at_period_end: cancel });
    } catch (err) {
      this.logger.warn(`Updating the subscription of server ${serverId} failed: ${(err as Error).message}`);
      throw new BillingError('payment_provider_unavailable', 'The payment provider could not be reached; try again in a minute.');
    }
    await this.ds.transaction(async (m) => {
      await m.query(
        `UPDATE server_billing SET cancel_at_period_end = $3, subscription_status = $4, subscription_synced_at = $5, updated_at = now()
          WHERE server_id = $1 AND tenant_id = $2`,
        [serverId, tenantId, sub.cancel_at_period_end, sub.status, this.clock.now()],
      );
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: cancel ? 'billing.cancel' : 'billing.resume', targetType: 'server', targetId: serverId, ip: actor.ip, details: { subscriptionId: row.stripe_subscription_id, atPeriodEnd: true } });
    });
    return this.subscription(tenantId, serverId);
  }

  /** A Stripe billing-portal session for the tenant's customer (cards, invoices). */
  async portal(tenantId: string): Promise<{ url: string }> {
    const stripe = this.requireStripe();
    const [tenant]: { stripe_customer_id: string | null }[] = await this.ds.query('SELECT stripe_customer_id FROM tenants WHERE id = $1', [tenantId]);
    if (!tenant?.stripe_customer_id) throw new BillingError('no_customer', 'This team has not ordered anything through Stripe yet, so there is no billing account to manage.');
    try {
      const session = await stripe.billingPortal.sessions.create({ customer: tenant.stripe_customer_id, return_url: `${this.config.billing.returnUrl}/billing` });
      return { url: session.url };
    } catch (err) {
      this.logger.warn(`Billing portal for tenant ${tenantId} failed: ${(err as Error).message}`);
      throw new BillingError('payment_provider_unavailable', 'The payment provider could not be reached; try again in a minute.');
    }
  }

  /** Staff hold: the server is suspended (stopped, the customer cannot start it) until staff lift it; independent of payment. */
  async setStaffHold(actor: Actor, serverId: string, hold: boolean, reason: string): Promise<AdminOrderView> {
    await this.ds.transaction((m) => this.applyStaffHold(m, actor, serverId, hold, reason));
    await this.reconciler.reconcile(serverId);
    return (await this.adminOrders({ serverId }))[0]!;
  }

  /**
   * The hold itself, in the caller's transaction (a tenant suspension holds all its servers in one);
   * the caller runs the reconciler on the server after the commit (the sweep would, too).
   */
  async applyStaffHold(m: EntityManager, actor: Actor, serverId: string, hold: boolean, reason: string): Promise<void> {
    const [server]: { id: string; tenant_id: string; state: string }[] = await m.query(
      `SELECT id, tenant_id, state FROM servers WHERE id = $1 AND state <> 'deleted' FOR UPDATE`,
      [serverId],
    );
    if (!server) throw new BillingError('server_not_found', 'No server with that id.');
    await m.query(
      `INSERT INTO server_billing (server_id, tenant_id, fulfilment) VALUES ($1, $2, CASE WHEN $3 = 'pending_payment' THEN 'pending' ELSE 'none' END)
       ON CONFLICT (server_id) DO NOTHING`,
      [serverId, server.tenant_id, server.state],
    );
    await m.query(`UPDATE server_billing SET staff_hold = $2, staff_hold_reason = $3, updated_at = now() WHERE server_id = $1`, [serverId, hold, hold ? reason : null]);
    await this.audit.record(m, {
      tenantId: server.tenant_id, actorUserId: actor.userId, actorKind: 'staff', action: hold ? 'server.staff_suspend' : 'server.staff_unsuspend',
      targetType: 'server', targetId: serverId, ip: actor.ip, details: { reason, state: server.state },
    });
  }

  /** Staff view of orders, e.g. fulfilment=failed (paid but not placed: refund by hand). */
  async adminOrders(filter: { fulfilment?: string; serverId?: string }): Promise<AdminOrderView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.fulfilment) where.push(`sb.fulfilment = $${params.push(filter.fulfilment)}`);
    if (filter.serverId) where.push(`sb.server_id = $${params.push(filter.serverId)}`);
    const rows: SubRow[] = await this.ds.query(`${SUB_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY sb.created_at DESC LIMIT 500`, params);
    return rows.map((r) => ({ ...subscriptionView(r), tenantId: r.tenant_id, fulfilmentError: r.fulfilment_error, staffHoldReason: r.staff_hold_reason }));
  }

  /** Staff view of the webhook inbox: events not yet applied (or all, newest first). */
  async adminEvents(state: 'pending' | 'all'): Promise<BillingEventView[]> {
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT stripe_event_id, type, received_at, processed_at, outcome, attempts, last_error FROM billing_events
        ${state === 'pending' ? 'WHERE processed_at IS NULL' : ''} ORDER BY received_at DESC, id DESC LIMIT 200`,
    );
    return rows.map((r) => ({
      id: r.stripe_event_id as string, type: r.type as string, receivedAt: (r.received_at as Date).toISOString(), processedAt: iso(r.processed_at as Date | null),
      outcome: (r.outcome as string | null) ?? null, attempts: r.attempts as number, lastError: (r.last_error as string | null) ?? null,
    }));
  }

  private async requireRow(tenantId: string, serverId: string): Promise<SubRow> {
    const [row]: SubRow[] = await this.ds.query(`${SUB_SELECT} WHERE sb.tenant_id = $1 AND sb.server_id = $2`, [tenantId, serverId]);
    if (!row) throw new BillingError('subscription_not_found', 'No subscription for that server in this team.');
    return row;
  }

  private requireStripe(): Stripe {
    if (!this.stripe) throw new BillingError('billing_off', 'Billing is off on this installation (no Stripe key configured).');
    return this.stripe;
  }
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function subscriptionView(r: SubRow): SubscriptionView {
  return {
    serverId: r.server_id,
    hostname: r.hostname,
    serverState: r.server_state,
    planId: r.plan_id,
    order: r.fulfilment as SubscriptionView['order'],
    checkoutUrl: r.fulfilment === 'pending' && r.server_state === 'pending_payment' ? r.checkout_url : null,
    status: r.subscription_status,
    cancelAtPeriodEnd: r.cancel_at_period_end,
    currentPeriodEnd: iso(r.current_period_end),
    endedAt: iso(r.subscription_ended_at),
    pastDueSince: iso(r.past_due_since),
    staffHold: r.staff_hold,
    suspension: r.server_state !== 'suspended' ? null : r.staff_hold ? 'staff' : r.subscription_ended_at ? 'ended' : 'payment',
    createdAt: r.created_at.toISOString(),
  };
}
