import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, type EntityManager } from 'typeorm';
import { BillingClock } from './billing.clock.js';
import { STRIPE } from './stripe.client.js';

interface HourRow { server_id: string; hour_start: Date; stripe_customer_id: string; meter_event_name: string }

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
    return this.report(serverId);
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
        WHERE sb.stripe_subscription_id = $1 AND bh.reported_at IS NULL`,
      [subscriptionId],
    );
    return row?.n ?? 0;
  }

  private async claim(serverId?: string): Promise<void> {
    await claimHours(this.ds.manager, this.clock.now(), serverId ?? null, false);
  }

  private async report(serverId?: string, subscriptionId?: string): Promise<number> {
    const stripe = this.stripe!;
    const rows: HourRow[] = await this.ds.query(
      `SELECT server_id, hour_start, stripe_customer_id, meter_event_name FROM billing_hours
        WHERE reported_at IS NULL AND ($1::uuid IS NULL OR server_id = $1)
          AND ($2::varchar IS NULL OR server_id IN (SELECT server_id FROM server_billing WHERE stripe_subscription_id = $2))
        ORDER BY created_at, hour_start LIMIT 500`,
      [serverId ?? null, subscriptionId ?? null],
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
        await this.ds.query('UPDATE billing_hours SET attempts = attempts + 1, last_error = $3 WHERE server_id = $1 AND hour_start = $2', [row.server_id, row.hour_start, message.slice(0, 500)]);
        this.logger.warn(`Reporting hour ${hourIdentifier(row.server_id, row.hour_start)} to Stripe failed (retried on the next sweep): ${message}`);
      }
    }
    return sent;
  }
}
