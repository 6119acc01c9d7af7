import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, type EntityManager } from 'typeorm';
import { BillingClock } from './billing.clock.js';
import { STRIPE } from './stripe.client.js';

interface HourRow { server_id: string; hour_start: Date; stripe_customer_id: string; meter_event_name: string; attempts: number }
interface EndRow { stripe_subscription_id: string; tenant_id: string; period_start: Date | null; ended_at: Date | null; stripe_customer_id: string; attempts: number }
interface HoursGroup { server_id: string; hostname: string | null; plan_id: string; plan_name: string; rate: number; currency: string; hours: number; first: Date; last: Date }

/** Retry backoff of a failed report or settlement: 30 s doubling per attempt, capped at 30 minutes, with ±20 % jitter. */
export const RETRY_BASE_MS = 30_000;
export const RETRY_CAP_MS = 30 * 60_000;
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, Math.min(attempts - 1, 20)));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Claim a server's (or every server's) due hours into `billing_hours` at the plan the billing row has now: a live
 * server's finished hours; a stopped (deleted or ended) one's started hours, at least one; with `throughStarted` (a
 * resize is about to change the plan) also the hour in progress, so that hour stays on the plan it started on.
 * One server waits for a concurrent claim of it; a sweep of all skips rows another replica holds.
 */
export async function claimHours(m: EntityManager, now: Date, serverId: string | null, throughStarted: boolean): Promise<void> {
  await m.query(
    `WITH due AS (
       SELECT sb.server_id, sb.tenant_id, sb.plan_id, sb.paid_at, sb.meter_hours AS from_k, t.stripe_customer_id, bp.meter_event_name,
              CASE WHEN coalesce(sb.meter_stopped_at, sb.subscription_ended_at) IS NOT NULL
                   THEN greatest(1, ceil(extract(epoch FROM (least(coalesce(sb.meter_stopped_at, sb.subscription_ended_at), $1) - sb.paid_at)) / 3600))::int
                   WHEN $3::boolean THEN ceil(extract(epoch FROM ($1 - sb.paid_at)) / 3600)::int
                   ELSE floor(extract(epoch FROM ($1 - sb.paid_at)) / 3600)::int END AS to_k
         FROM server_billing sb
         JOIN plans p ON p.id = sb.plan_id AND p.price_hourly_cents IS NOT NULL
         JOIN billing_plan_prices bp ON bp.plan_id = sb.plan_id AND bp.meter_event_name IS NOT NULL
         JOIN tenants t ON t.id = sb.tenant_id AND t.stripe_customer_id IS NOT NULL
        WHERE sb.fulfilment = 'provisioned' AND sb.paid_at IS NOT NULL AND sb.stripe_subscription_id IS NOT NULL
          AND ($2::uuid IS NULL OR sb.server_id = $2)
          FOR UPDATE OF sb ${serverId ? '' : 'SKIP LOCKED'}
     ), claimed AS (
       UPDATE server_billing sb SET meter_hours = due.to_k, updated_at = now()
         FROM due WHERE sb.server_id = due.server_id AND due.to_k > due.from_k
       RETURNING sb.server_id
     )
     INSERT INTO billing_hours (server_id, hour_start, tenant_id, plan_id, stripe_customer_id, meter_event_name)
     SELECT due.server_id, due.paid_at + k * interval '1 hour', due.tenant_id, due.plan_id, due.stripe_customer_id, due.meter_event_name
       FROM due JOIN claimed ON claimed.server_id = due.server_id
       CROSS JOIN LATERAL generate_series(due.from_k, due.to_k - 1) AS k
     ON CONFLICT (server_id, hour_start) DO NOTHING`,
    [now, serverId, throughStarted],
  );
}

/** The meter event identifier of one server-hour: Stripe drops a second event with the same identifier. */
export function hourIdentifier(serverId: string, hourStart: Date): string {
  return `${serverId}:${hourStart.toISOString()}`;
}

/**
 * Hours of servers on hourly plans, as Stripe billing-meter events (one per server and started hour, value 1).
 *
 * Hour k of a server is [paid_at + k h, paid_at + (k+1) h): the subscription starts when it is paid, so hours line up
 * with Stripe's billing period. A live server's hour is claimed once it is over; a deleted server's meter stops
 * (`meter_stopped_at`) and its last started hour is claimed at once, whole. A subscription that ended (non-payment)
 * stops the meter at its end the same way.
 *
 * Twice-safe: claiming is one statement that moves `server_billing.meter_hours` forward and inserts the hours under
 * the `billing_hours` primary key (server, hour start), so two sweeps or two API replicas claim each hour once.
 * Reporting runs outside any transaction; a retry after a lost answer, or two replicas reporting the same unreported
 * row, send the same identifier `<serverId>:<hourStart>`, which Stripe accepts once.
 */
@Injectable()
export class HourlyMeterService {
  private readonly logger = new Logger('HourlyMeter');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(BillingClock) private readonly clock: BillingClock,
  ) {}

  /** Claim every due hour (all servers, or one) and report what Stripe has not taken yet; returns how many events were sent. */
  async sweep(serverId?: string): Promise<number> {
    if (!this.stripe) return 0;
    await this.claim(serverId);
    const sent = await this.report(serverId);
    if (!serverId) await this.settleEnded();
    return sent;
  }

  /**
   * Hours of subscriptions Stripe itself ended (unpaid, or cancelled in Stripe's dashboard): Stripe invoices no usage on
   * such an end, so the hours of its last period (and any never reported) would be lost. They are billed instead as one
   * invoice item per server and plan ("<hostname>: N h of <plan> at <rate>/h"), on a one-off invoice of the customer.
   * Each item's idempotency key is the subscription, server and plan, and its hours are marked with the item in the
   * same step, so a retry neither loses nor doubles them; marked hours are never reported as meter events.
   */
  async settleEnded(): Promise<number> {
    if (!this.stripe) return 0;
    const stripe = this.stripe;
    const ends: EndRow[] = await this.ds.query(
      `SELECT e.stripe_subscription_id, e.tenant_id, e.period_start, e.ended_at, t.stripe_customer_id, e.attempts
         FROM billing_hourly_ends e JOIN tenants t ON t.id = e.tenant_id AND t.stripe_customer_id IS NOT NULL
        WHERE e.how = 'stripe' AND e.settled_at IS NULL
        ORDER BY e.created_at LIMIT 20`,
    );
    let settled = 0;
    for (const end of ends) {
      try {
        await this.settle(stripe, end);
        settled++;
      } catch (err) {
        const message = (err as Error).message;
        await this.ds.query('UPDATE billing_hourly_ends SET attempts = attempts + 1, last_error = $2 WHERE stripe_subscription_id = $1', [end.stripe_subscription_id, message.slice(0, 500)]);
        this.logger.warn(`Billing the hours of ended subscription ${end.stripe_subscription_id} failed (retried on the next sweep): ${message}`);
      }
    }
    return settled;
  }

  private async settle(stripe: Stripe, end: EndRow): Promise<void> {
    const sub = end.stripe_subscription_id;
    // Unbilled: every hour of the period Stripe ended without invoicing, and any hour Stripe never got. (An hour reported
    // in an earlier period was on that period's invoice.)
    const groups: HoursGroup[] = await this.ds.query(
      `SELECT bh.server_id, s.hostname, bh.plan_id, p.name AS plan_name, p.price_hourly_cents AS rate, lower(trim(p.currency)) AS currency,
              count(*)::int AS hours, min(bh.hour_start) AS first, max(bh.hour_start) AS last
         FROM billing_hours bh JOIN server_billing sb ON sb.server_id = bh.server_id
         JOIN plans p ON p.id = bh.plan_id LEFT JOIN servers s ON s.id = bh.server_id
        WHERE sb.stripe_subscription_id = $1 AND bh.invoice_item_id IS NULL
          AND (bh.reported_at IS NULL OR ($2::timestamptz IS NOT NULL AND bh.hour_start >= $2))
        GROUP BY bh.server_id, s.hostname, bh.plan_id, p.name, p.price_hourly_cents, p.currency ORDER BY min(bh.hour_start)`,
      [sub, end.period_start],
    );
    for (const g of groups) {
      const item = await stripe.invoiceItems.create(
        {
          customer: end.stripe_customer_id,
          currency: g.currency,
          amount: g.hours * g.rate,
          description: `${g.hostname ?? g.server_id}: ${g.hours} h of ${g.plan_name} at ${(g.rate / 100).toFixed(2)} / hour (${g.first.toISOString()} – ${new Date(g.last.getTime() + 3600_000).toISOString()}), after subscription ${sub} ended`,
          metadata: { serverId: g.server_id, planId: g.plan_id, hours: String(g.hours), subscriptionId: sub, oblako: 'hours_after_end' },
        },
        { idempotencyKey: `oblako-ended-hours-${sub}-${g.server_id}-${g.plan_id}-${g.first.toISOString()}` },
      );
      await this.ds.query(
        `UPDATE billing_hours SET invoice_item_id = $4 WHERE server_id = $1 AND plan_id = $2 AND invoice_item_id IS NULL
            AND hour_start >= $3 AND hour_start <= $5 AND (reported_at IS NULL OR ($6::timestamptz IS NOT NULL AND hour_start >= $6))`,
        [g.server_id, g.plan_id, g.first, item.id, g.last, end.period_start],
      );
    }
    // (also after a retry whose items were all made before the invoice failed)
    const [billed]: { n: number }[] = await this.ds.query(
      `SELECT count(*)::int AS n FROM billing_hours bh JOIN server_billing sb ON sb.server_id = bh.server_id WHERE sb.stripe_subscription_id = $1 AND bh.invoice_item_id IS NOT NULL`,
      [sub],
    );
    let invoiceId: string | null = null;
    if ((billed?.n ?? 0) > 0) {
      const invoice = await stripe.invoices.create(
        {
          customer: end.stripe_customer_id, auto_advance: true, collection_method: 'charge_automatically', pending_invoice_items_behavior: 'include',
          description: `Server hours of subscription ${sub} not invoiced when it ended`, metadata: { subscriptionId: sub, oblako: 'hours_after_end' },
        },
        { idempotencyKey: `oblako-ended-invoice-${sub}` },
      );
      invoiceId = invoice.id ?? null;
      this.logger.log(`Subscription ${sub} ended at Stripe with ${billed!.n} hour(s) not invoiced: billed on invoice ${invoiceId}`);
    }
    await this.ds.query('UPDATE billing_hourly_ends SET settled_at = now(), invoice_id = $2, last_error = NULL WHERE stripe_subscription_id = $1', [sub, invoiceId]);
  }

  /**
   * A deleted server's meter stops now: its started hour is billed whole and reported at once. Returns whether the
   * server is metered (then its subscription is cancelled with `invoice_now`, so the hours are invoiced now).
   */
  async stop(serverId: string): Promise<boolean> {
    const rows: { metered: boolean }[] = await this.ds.query(
      `UPDATE server_billing sb SET meter_stopped_at = coalesce(sb.meter_stopped_at, $2), updated_at = now()
         FROM plans p WHERE sb.server_id = $1 AND p.id = sb.plan_id AND p.price_hourly_cents IS NOT NULL
       RETURNING true AS metered`,
      [serverId, this.clock.now()],
    );
    if (rows.length === 0) return false;
    await this.sweep(serverId);
    return true;
  }

  /**
   * Before a subscription is cancelled with its usage invoiced now: report what its servers' hours still owe Stripe
   * (a report that failed earlier, e.g. a deleted server's last hour) and answer how many are still unreported. The
   * cancellation waits while any are (the `billing_hours` rows are the queue; every sweep retries them), because usage
   * reported after the final invoice would never be billed.
   */
  async unreportedOf(subscriptionId: string): Promise<number> {
    if (!this.stripe) return 0;
    await this.report(undefined, subscriptionId);
    const [row]: { n: number }[] = await this.ds.query(
      `SELECT count(*)::int AS n FROM billing_hours bh JOIN server_billing sb ON sb.server_id = bh.server_id
        WHERE sb.stripe_subscription_id = $1 AND bh.reported_at IS NULL AND bh.invoice_item_id IS NULL`,
      [subscriptionId],
    );
    return row?.n ?? 0;
  }

  private async claim(serverId?: string): Promise<void> {
    await claimHours(this.ds.manager, this.clock.now(), serverId ?? null, false);
  }

  /**
   * Send unreported hours. A failed one waits `retryDelayMs(attempts)` (bounded exponential backoff with jitter) before
   * the sweep tries it again, so a Stripe outage is not hammered by every poll; `now` (a delete's last hour, a
   * cancellation that waits for its hours) tries at once.
   */
  private async report(serverId?: string, subscriptionId?: string, now = serverId !== undefined || subscriptionId !== undefined): Promise<number> {
    const stripe = this.stripe!;
    const rows: HourRow[] = await this.ds.query(
      `SELECT server_id, hour_start, stripe_customer_id, meter_event_name, attempts FROM billing_hours
        WHERE reported_at IS NULL AND invoice_item_id IS NULL AND ($1::uuid IS NULL OR server_id = $1)
          -- hours of a subscription Stripe ended are billed as invoice items (settleEnded), not as meter events nothing bills
          AND NOT EXISTS (SELECT 1 FROM server_billing sb JOIN billing_hourly_ends e ON e.stripe_subscription_id = sb.stripe_subscription_id AND e.how = 'stripe'
                           WHERE sb.server_id = billing_hours.server_id)
          AND ($3::boolean OR next_attempt_at IS NULL OR next_attempt_at <= $4)
          AND ($2::varchar IS NULL OR server_id IN (SELECT server_id FROM server_billing WHERE stripe_subscription_id = $2))
        ORDER BY created_at, hour_start LIMIT 500`,
      [serverId ?? null, subscriptionId ?? null, now, this.clock.now()],
    );
    let sent = 0;
    for (const row of rows) {
      try {
        await stripe.billing.meterEvents.create({
          event_name: row.meter_event_name,
          payload: { stripe_customer_id: row.stripe_customer_id, value: '1' },
          identifier: hourIdentifier(row.server_id, row.hour_start),
          timestamp: Math.floor(row.hour_start.getTime() / 1000),
        });
        await this.ds.query('UPDATE billing_hours SET reported_at = now(), last_error = NULL WHERE server_id = $1 AND hour_start = $2', [row.server_id, row.hour_start]);
        sent++;
      } catch (err) {
        const message = (err as Error).message;
        const next = new Date(this.clock.now().getTime() + retryDelayMs(row.attempts + 1));
        await this.ds.query('UPDATE billing_hours SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4 WHERE server_id = $1 AND hour_start = $2', [row.server_id, row.hour_start, message.slice(0, 500), next]);
        this.logger.warn(`Reporting hour ${hourIdentifier(row.server_id, row.hour_start)} to Stripe failed (retried from ${next.toISOString()}): ${message}`);
      }
    }
    return sent;
  }
}
