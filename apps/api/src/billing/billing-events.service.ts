import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { pgCode } from '../database/sql.js';
import { NotificationsService } from '../notifications/notifications.service.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { BillingClock } from './billing.clock.js';
import { HourlySubscriptionService } from './hourly-subscription.service.js';
import { PlanPricesService } from './plan-prices.service.js';
import { affectedRows, mergePastDueSince } from './billing-policy.js';
import { STRIPE } from './stripe.client.js';

/** A verified webhook event waiting in (or taken from) the inbox. */
export interface InboxRow { id: string; stripe_event_id: string; type: string; stripe_created: Date; payload: Stripe.Event; attempts: number }

interface OrderRow {
  server_id: string; tenant_id: string; order_key: string; stripe_subscription_id: string | null; paid_at: Date | null; past_due_since: Date | null;
}

const MAX_ATTEMPTS = 300;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ENDED = ['canceled', 'incomplete_expired'];

/** Invoice statuses only move forward; within one status the newest event wins. */
const INVOICE_RANK_SQL = (col: string) => `(CASE ${col} WHEN 'draft' THEN 0 WHEN 'open' THEN 1 WHEN 'uncollectible' THEN 2 ELSE 3 END)`;

interface Refs {
  metadata: { tenantId?: string; serverId?: string; orderKey?: string } | null;
  subscriptionId: string | null;
  checkoutPaid: boolean;
  invoice: Stripe.Invoice | null;
  /** checkout.session.expired: this session can no longer be paid. */
  expiredSessionId?: string;
}

/**
 * Applies one verified Stripe event to the mirrored billing state, in one transaction with the
 * inbox row's `processed_at` (so each event id takes effect once).
 *
 * Ordering rule (why delivery order does not matter): an event is only a notification that
 * something changed. The subscription's state is never taken from the event body; it is fetched
 * from Stripe (subscriptions.retrieve) under the order's row lock, so whatever order events arrive
 * in, the last one processed mirrors Stripe's newest state. Invoices are mirrored from the event
 * body, but a snapshot replaces the stored one only if its status is further along
 * (draft < open < uncollectible < paid|void) or, at the same status, its event is newer
 * (event.created). Servers then follow the mirrored state through the reconciler, which is
 * idempotent and driven by state, not by events.
 */
@Injectable()
export class BillingEventsService {
  private readonly logger = new Logger('BillingEvents');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(BillingClock) private readonly clock: BillingClock,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(NotificationsService) private readonly notifications: NotificationsService,
    @Inject(WebhooksService) private readonly webhooks: WebhooksService,
    @Inject(HourlySubscriptionService) private readonly hourly: HourlySubscriptionService,
    @Inject(PlanPricesService) private readonly prices: PlanPricesService,
  ) {}

  /** Store a verified event once (unique Stripe event id). Returns false for a duplicate delivery. */
  async store(event: Stripe.Event): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      `INSERT INTO billing_events (stripe_event_id, type, stripe_created, payload) VALUES ($1, $2, to_timestamp($3), $4)
       ON CONFLICT (stripe_event_id) DO NOTHING RETURNING id`,
      [event.id, event.type, event.created, JSON.stringify(event)],
    );
    return rows.length > 0;
  }

  /**
   * Forget processed events after 30 days (Stripe retries a delivery for at most 3 days, so the
   * unique event id still guards every retry). Unprocessed events are never deleted.
   */
  async prune(): Promise<number> {
    return affectedRows(await this.ds.query(`DELETE FROM billing_events WHERE processed_at < now() - interval '30 days'`));
  }

  /**
   * Take the next due inbox row (FOR UPDATE SKIP LOCKED, so replicas share the work), apply it and
   * mark it processed in the same transaction. Returns the server it touched, or undefined when the
   * inbox is empty; null when it touched none.
   */
  async processNext(): Promise<string | null | undefined> {
    let taken: InboxRow | null = null;
    try {
      return await this.ds.transaction(async (m) => {
        const [row]: InboxRow[] = await m.query(
          `SELECT id, stripe_event_id, type, stripe_created, payload, attempts FROM billing_events
            WHERE processed_at IS NULL AND next_attempt_at <= now()
            ORDER BY stripe_created, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        );
        if (!row) return undefined;
        taken = row;
        const { serverId, outcome } = await this.apply(m, row.payload);
        await m.query(`UPDATE billing_events SET processed_at = now(), outcome = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1`, [row.id, outcome]);
        return serverId;
      });
    } catch (err) {
      const row = taken as InboxRow | null;
      if (!row) throw err;
      const message = (err as Error).message.slice(0, 500);
      if (isTransient(err) && row.attempts < 3) {
        // Two replicas (or the reconciler) touched the same rows at once: PostgreSQL rolled one back.
        // Nothing is wrong with the event, so it is due again at once (three times; then the backoff).
        this.logger.log(`Stripe event ${row.stripe_event_id} (${row.type}) met a concurrent update, retrying now: ${message}`);
        await this.ds.query(`UPDATE billing_events SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() WHERE id = $1`, [row.id, message]);
        return null;
      }
      this.logger.warn(`Stripe event ${row.stripe_event_id} (${row.type}) failed, will retry: ${message}`);
      // Backoff up to 5 minutes; after MAX_ATTEMPTS (about a day) the event is parked as processed with outcome "gave up"
      // (staff see it in billing_events; the reconciler still acts on whatever state later events mirror).
      await this.ds.query(
        `UPDATE billing_events SET attempts = attempts + 1, last_error = $2,
                next_attempt_at = now() + make_interval(secs => least(300, power(2, least(attempts, 8)))),
                processed_at = CASE WHEN attempts + 1 >= $3 THEN now() END,
                outcome = CASE WHEN attempts + 1 >= $3 THEN 'gave up after repeated failures' END
          WHERE id = $1`,
        [row.id, message, MAX_ATTEMPTS],
      );
      return null;
    }
  }

  private async apply(m: EntityManager, event: Stripe.Event): Promise<{ serverId: string | null; outcome: string }> {
    const refs = refsOf(event);
    if (!refs) return { serverId: null, outcome: 'ignored: not a billing event this API acts on' };
    const eventAt = new Date(event.created * 1000);

    let order: OrderRow | undefined;
    const serverId = refs.metadata?.serverId;
    if (serverId && UUID.test(serverId)) {
      [order] = await m.query(
        'SELECT server_id, tenant_id, order_key, stripe_subscription_id, paid_at, past_due_since FROM server_billing WHERE server_id = $1 FOR UPDATE',
        [serverId],
      );
    } else if (refs.subscriptionId) {
      [order] = await m.query(
        'SELECT server_id, tenant_id, order_key, stripe_subscription_id, paid_at, past_due_since FROM server_billing WHERE stripe_subscription_id = $1 ORDER BY paid_at NULLS LAST, created_at LIMIT 1 FOR UPDATE',
        [refs.subscriptionId],
      );
    }
    if (!order) return { serverId: null, outcome: 'ignored: no order of this API matches' };

    // The metadata must match the order exactly: the tenant, the server and its one-time order key.
    if (refs.metadata && (refs.metadata.tenantId !== order.tenant_id || refs.metadata.orderKey !== order.order_key)) {
      await this.audit.record(m, {
        tenantId: order.tenant_id, actorUserId: null, actorKind: 'system', action: 'billing.event_rejected', targetType: 'server', targetId: order.server_id, ip: null,
        details: { eventId: event.id, type: event.type, reason: 'tenant or order key in the metadata does not match the order' },
      });
      return { serverId: null, outcome: 'rejected: metadata does not match the order' };
    }

    if (refs.subscriptionId && order.stripe_subscription_id && refs.subscriptionId !== order.stripe_subscription_id) {
      // A second paid subscription for one order (e.g. two sessions paid): never a second server.
      await this.audit.record(m, {
        tenantId: order.tenant_id, actorUserId: null, actorKind: 'system', action: 'billing.duplicate_subscription', targetType: 'server', targetId: order.server_id, ip: null,
        details: { eventId: event.id, subscriptionId: refs.subscriptionId, kept: order.stripe_subscription_id, action: 'cancelled; refund by staff if charged' },
      });
      await this.requireStripe().subscriptions.cancel(refs.subscriptionId).catch((err: Error) => {
        if (!/No such subscription|already/i.test(err.message)) throw err;
      });
      return { serverId: order.server_id, outcome: 'duplicate subscription cancelled' };
    }
    if (refs.subscriptionId && !order.stripe_subscription_id) {
      const shared = await this.hourlySubscriptionOf(m, order, refs.subscriptionId);
      if (shared) {
        // Two hourly orders were paid through two Checkouts: the later one joins the tenant's hourly subscription and its
        // own is cancelled at once (metered, so nothing was charged on it), or both would bill every hour of the plan.
        await this.requireStripe().subscriptions.cancel(refs.subscriptionId).catch((err: Error) => {
          if (!/No such subscription|already|canceled/i.test(err.message)) throw err;
        });
        await this.hourly.ensureItem(await this.requireStripe().subscriptions.retrieve(shared.subscriptionId), await this.prices.ensurePrice(shared.planId));
        await m.query('UPDATE server_billing SET stripe_subscription_id = $2, paid_at = coalesce(paid_at, $3), updated_at = now() WHERE server_id = $1', [order.server_id, shared.subscriptionId, eventAt]);
        await this.audit.record(m, {
          tenantId: order.tenant_id, actorUserId: null, actorKind: 'system', action: 'billing.joined_subscription', targetType: 'server', targetId: order.server_id, ip: null,
          details: { eventId: event.id, subscriptionId: shared.subscriptionId, cancelled: refs.subscriptionId, reason: 'paid through a second Checkout while the team had an hourly subscription' },
        });
        order.stripe_subscription_id = shared.subscriptionId;
      } else {
        await m.query('UPDATE server_billing SET stripe_subscription_id = $2, updated_at = now() WHERE server_id = $1', [order.server_id, refs.subscriptionId]);
        order.stripe_subscription_id = refs.subscriptionId;
      }
    }
    if (refs.checkoutPaid) {
      await m.query('UPDATE server_billing SET paid_at = coalesce(paid_at, $2), updated_at = now() WHERE server_id = $1', [order.server_id, eventAt]);
    }
    if (refs.expiredSessionId) {
      // The next checkout link request makes a new session (the expired one stays recorded for its idempotency key).
      await m.query('UPDATE server_billing SET checkout_url = NULL, updated_at = now() WHERE server_id = $1 AND checkout_session_id = $2', [order.server_id, refs.expiredSessionId]);
    }
    if (refs.invoice) await this.mirrorInvoice(m, order, refs.invoice, eventAt);
    if (order.stripe_subscription_id) await this.mirrorSubscription(m, order, event, eventAt);
    if (refs.invoice && (event.type === 'invoice.payment_failed' || event.type === 'invoice.paid')) await this.tellTenant(m, order, event.type, refs.invoice);
    return { serverId: order.server_id, outcome: 'applied' };
  }

  /**
   * For an hourly order's new subscription: the tenant's other live hourly subscription, if it has one. The tenant row
   * lock makes two orders' first events take turns, so the second sees the first's subscription.
   */
  private async hourlySubscriptionOf(m: EntityManager, order: OrderRow, subscriptionId: string): Promise<{ subscriptionId: string; planId: string } | null> {
    const [plan]: { plan_id: string; hourly: boolean }[] = await m.query(
      'SELECT sb.plan_id, (p.price_hourly_cents IS NOT NULL) AS hourly FROM server_billing sb JOIN plans p ON p.id = sb.plan_id WHERE sb.server_id = $1',
      [order.server_id],
    );
    if (!plan?.hourly) return null;
    await m.query('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [order.tenant_id]);
    const other = await this.hourly.of(order.tenant_id, order.server_id, m);
    return other && other !== subscriptionId ? { subscriptionId: other, planId: plan.plan_id } : null;
  }

  /** Payment outcomes reach the tenant: a notification (and mail to owners and billing members) and a billing webhook, once per Stripe event. */
  private async tellTenant(m: EntityManager, order: OrderRow, type: 'invoice.payment_failed' | 'invoice.paid', inv: Stripe.Invoice): Promise<void> {
    const [srv]: { hostname: string }[] = await m.query('SELECT hostname FROM servers WHERE id = $1', [order.server_id]);
    const amount = `${((inv.amount_due ?? 0) / 100).toFixed(2)} ${(inv.currency ?? 'eur').toUpperCase()}`;
    const data = { serverId: order.server_id, hostname: srv?.hostname ?? null, invoiceId: inv.id ?? null, number: inv.number ?? null, amountDue: inv.amount_due ?? 0, currency: inv.currency ?? 'eur', hostedInvoiceUrl: inv.hosted_invoice_url ?? null };
    if (type === 'invoice.payment_failed') {
      await this.notifications.notify(m, {
        tenantId: order.tenant_id, kind: 'payment.failed', link: '/billing', dedupKey: `payment-failed:${inv.id}:${inv.attempt_count ?? 0}`,
        title: `Payment of ${amount} failed`,
        body: `We could not collect ${amount} for ${srv?.hostname ?? 'a server'}${inv.number ? ` (invoice ${inv.number})` : ''}. Update the card or pay the invoice from the billing page, or the server is suspended after the grace period.`,
        facts: inv.hosted_invoice_url ? [['Pay the invoice', inv.hosted_invoice_url]] : undefined,
      });
    }
    await this.webhooks.publish(m, order.tenant_id, type === 'invoice.paid' ? 'billing.payment_succeeded' : 'billing.payment_failed', data, `billing:${type}:${inv.id}:${inv.attempt_count ?? 0}`);
  }

  /** Mirror the subscription's newest state, fetched from Stripe (never from the event body). */
  private async mirrorSubscription(m: EntityManager, order: OrderRow, event: Stripe.Event, eventAt: Date): Promise<void> {
    const sub = await this.requireStripe().subscriptions.retrieve(order.stripe_subscription_id!);
    const now = this.clock.now();
    const status = sub.status;
    const periodEnd = sub.items?.data?.[0]?.current_period_end ?? null;
    const pastDueSince = mergePastDueSince(status, order.past_due_since, event.type === 'invoice.payment_failed' ? eventAt : now);
    const endedAt = ENDED.includes(status) ? new Date((sub.ended_at ?? event.created) * 1000) : null;
    // Every server on the subscription follows it (a tenant's hourly servers share one), except those a delete detached
    // from it (meter stopped, their billing ended): their rows keep that end.
    await m.query(
      `UPDATE server_billing SET subscription_status = $2::varchar, cancel_at_period_end = $3, current_period_end = $4, subscription_ended_at = $5,
              past_due_since = $6, subscription_synced_at = $7::timestamptz,
              paid_at = CASE WHEN $2::varchar IN ('active', 'trialing') THEN coalesce(paid_at, $7::timestamptz) ELSE paid_at END,
              updated_at = now()
        WHERE stripe_subscription_id = $1 AND NOT (meter_stopped_at IS NOT NULL AND subscription_ended_at IS NOT NULL)`,
      [order.stripe_subscription_id, status, sub.cancel_at_period_end, periodEnd ? new Date(periodEnd * 1000) : null, endedAt, pastDueSince, now],
    );
    if (endedAt) {
      // An hourly subscription that ended without our cancellation (which records `invoice_now` first): Stripe ended it
      // (unpaid, or in its dashboard) and invoices none of the period's hours; the meter sweep bills them.
      const periodStart = sub.items?.data?.[0]?.current_period_start ?? null;
      await m.query(
        `INSERT INTO billing_hourly_ends (stripe_subscription_id, tenant_id, how, period_start, ended_at)
         SELECT $1::varchar, $2::uuid, 'stripe', $3::timestamptz, $4::timestamptz WHERE EXISTS (
           SELECT 1 FROM server_billing sb JOIN plans p ON p.id = sb.plan_id WHERE sb.stripe_subscription_id = $1 AND p.price_hourly_cents IS NOT NULL)
         ON CONFLICT (stripe_subscription_id) DO NOTHING`,
        [order.stripe_subscription_id, order.tenant_id, periodStart ? new Date(periodStart * 1000) : null, endedAt],
      );
    }
  }

  private async mirrorInvoice(m: EntityManager, order: OrderRow, inv: Stripe.Invoice, eventAt: Date): Promise<void> {
    if (!inv.id) return;
    const ts = (s: number | null | undefined) => (s ? new Date(s * 1000) : null);
    await m.query(
      `INSERT INTO billing_invoices (id, tenant_id, server_id, stripe_subscription_id, status, amount_due, amount_paid, currency, hosted_invoice_url, number,
                                     period_start, period_end, stripe_created, state_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, amount_due = EXCLUDED.amount_due, amount_paid = EXCLUDED.amount_paid,
              hosted_invoice_url = EXCLUDED.hosted_invoice_url, number = EXCLUDED.number, state_at = EXCLUDED.state_at, updated_at = now()
        WHERE billing_invoices.tenant_id = EXCLUDED.tenant_id
          AND (${INVOICE_RANK_SQL('EXCLUDED.status')}, EXCLUDED.state_at) > (${INVOICE_RANK_SQL('billing_invoices.status')}, billing_invoices.state_at)`,
      [
        inv.id, order.tenant_id, order.server_id, order.stripe_subscription_id ?? subscriptionOfInvoice(inv), inv.status ?? 'draft', inv.amount_due ?? 0, inv.amount_paid ?? 0,
        (inv.currency ?? 'eur').slice(0, 3), inv.hosted_invoice_url ?? null, inv.number ?? null, ts(inv.period_start), ts(inv.period_end), ts(inv.created) ?? eventAt, eventAt,
      ],
    );
  }

  private requireStripe(): Stripe {
    if (!this.stripe) throw new Error('billing is off; a Stripe event cannot be applied');
    return this.stripe;
  }
}

function subscriptionOfInvoice(inv: Stripe.Invoice): string | null {
  const details = inv.parent?.subscription_details;
  const sub = details?.subscription ?? (inv as unknown as { subscription?: string | { id: string } | null }).subscription ?? null;
  return typeof sub === 'string' ? sub : (sub?.id ?? null);
}

function metadataOf(md: Record<string, string> | null | undefined): Refs['metadata'] {
  if (!md || (!md.serverId && !md.orderKey)) return null;
  return { tenantId: md.tenantId, serverId: md.serverId, orderKey: md.orderKey };
}

/** What an event is about: the order (through our metadata) and the subscription. */
function refsOf(event: Stripe.Event): Refs | null {
  const type = event.type as string;
  const obj = event.data.object as unknown as Record<string, unknown>;
  if (type === 'checkout.session.completed' || type === 'checkout.session.async_payment_succeeded') {
    const s = obj as unknown as Stripe.Checkout.Session;
    if (s.mode !== 'subscription') return null;
    const sub = typeof s.subscription === 'string' ? s.subscription : (s.subscription?.id ?? null);
    return { metadata: metadataOf(s.metadata), subscriptionId: sub, checkoutPaid: s.payment_status === 'paid' || s.payment_status === 'no_payment_required', invoice: null };
  }
  if (type === 'checkout.session.expired') {
    const s = obj as unknown as Stripe.Checkout.Session;
    if (s.mode !== 'subscription') return null;
    return { metadata: metadataOf(s.metadata), subscriptionId: null, checkoutPaid: false, invoice: null, expiredSessionId: s.id };
  }
  if (type.startsWith('customer.subscription.')) {
    const s = obj as unknown as Stripe.Subscription;
    return { metadata: metadataOf(s.metadata), subscriptionId: s.id, checkoutPaid: false, invoice: null };
  }
  if (type.startsWith('invoice.')) {
    const inv = obj as unknown as Stripe.Invoice;
    const sub = subscriptionOfInvoice(inv);
    if (!sub) return null;
    const md = inv.parent?.subscription_details?.metadata ?? (inv as unknown as { subscription_details?: { metadata?: Record<string, string> } }).subscription_details?.metadata;
    return { metadata: metadataOf(md), subscriptionId: sub, checkoutPaid: false, invoice: inv };
  }
  return null;
}

/** Deadlock, serialization failure or a lost race on a unique key: the same work succeeds when tried again. */
function isTransient(err: unknown): boolean {
  const code = pgCode(err);
  return code === '40P01' || code === '40001' || code === '23505';
}
