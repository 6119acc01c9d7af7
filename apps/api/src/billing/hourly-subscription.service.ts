import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { BillingClock } from './billing.clock.js';
import { BillingError } from './billing.errors.js';
import { PlanPricesService } from './plan-prices.service.js';
import { STRIPE } from './stripe.client.js';

/** A server row of the tenant's hourly subscription that still uses it (not detached by a delete). */
const LIVE_HOURLY = `sb.stripe_subscription_id IS NOT NULL AND sb.subscription_ended_at IS NULL AND sb.meter_stopped_at IS NULL
  AND sb.fulfilment IN ('pending', 'provisioned') AND p.price_hourly_cents IS NOT NULL`;

/**
 * One Stripe subscription per tenant carries all its hourly servers. Stripe sums a meter's events per customer, so a
 * metered price must sit on exactly one subscription item of the customer: two subscriptions (one per server) with
 * the same plan's metered price would each bill every server's hours. So the tenant's first hourly server is sold
 * through Checkout as usual, and its subscription becomes the tenant's hourly subscription; every later hourly server
 * joins it (one item per hourly plan's price, added when the first server of that plan joins; a metered item has no
 * quantity: the meter's sum over the customer's events is the quantity). Deleting a server detaches it (its meter
 * stops); deleting the last one cancels the subscription with its hours invoiced at once.
 */
@Injectable()
export class HourlySubscriptionService {
  private readonly logger = new Logger('HourlySubscription');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(BillingClock) private readonly clock: BillingClock,
    @Inject(PlanPricesService) private readonly prices: PlanPricesService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /** The tenant's live hourly subscription (the one its other hourly servers use), if any. */
  async of(tenantId: string, exceptServerId?: string, m: EntityManager = this.ds.manager): Promise<string | null> {
    const [row]: { stripe_subscription_id: string }[] = await m.query(
      `SELECT sb.stripe_subscription_id FROM server_billing sb JOIN plans p ON p.id = sb.plan_id
        WHERE sb.tenant_id = $1 AND ($2::uuid IS NULL OR sb.server_id <> $2) AND ${LIVE_HOURLY}
        ORDER BY sb.paid_at NULLS LAST LIMIT 1`,
      [tenantId, exceptServerId ?? null],
    );
    return row?.stripe_subscription_id ?? null;
  }

  /** Whether another server still uses the subscription (then deleting this one only detaches it). */
  async sharedWithOthers(subscriptionId: string, serverId: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      `SELECT 1 FROM server_billing sb JOIN plans p ON p.id = sb.plan_id WHERE sb.stripe_subscription_id = $1 AND sb.server_id <> $2 AND ${LIVE_HOURLY} LIMIT 1`,
      [subscriptionId, serverId],
    );
    return rows.length > 0;
  }

  /**
   * An hourly order of a tenant that already has a live hourly subscription joins it instead of paying through
   * Checkout: the plan's metered price is on the subscription (added once), the order counts as paid now (its hours
   * start now) and the billing worker places it. Returns false when the tenant has no hourly subscription (Checkout
   * then sells one). A subscription that is not paid up refuses the order with the reason.
   */
  async join(tenantId: string, serverId: string, planId: string): Promise<boolean> {
    const stripe = this.stripe;
    if (!stripe) return false;
    const subId = await this.of(tenantId, serverId);
    if (!subId) return false;
    const sub = await stripe.subscriptions.retrieve(subId);
    if (sub.status !== 'active' && sub.status !== 'trialing') {
      throw new BillingError('not_payable', `Your hourly servers' subscription is ${sub.status.replace('_', ' ')}: pay the open invoice on the billing page first, then order again.`);
    }
    const itemId = await this.ensureItem(sub, await this.prices.ensurePrice(planId));
    const now = this.clock.now();
    const periodEnd = sub.items.data[0]?.current_period_end ?? null;
    await this.ds.transaction(async (m) => {
      const joined: unknown[] = await m.query(
        `UPDATE server_billing SET stripe_subscription_id = $2, subscription_status = $3, paid_at = $4, current_period_end = $5, subscription_synced_at = $4, updated_at = now()
          WHERE server_id = $1 AND tenant_id = $6 AND fulfilment = 'pending' AND stripe_subscription_id IS NULL RETURNING server_id`,
        [serverId, subId, sub.status, now, periodEnd ? new Date(periodEnd * 1000) : null, tenantId],
      );
      if (joined.length === 0) return;
      await this.audit.record(m, {
        tenantId, actorUserId: null, actorKind: 'system', action: 'billing.joined_subscription', targetType: 'server', targetId: serverId, ip: null,
        details: { subscriptionId: subId, subscriptionItemId: itemId, planId },
      });
    });
    return true;
  }

  /** The subscription's item for a price: the existing one, or a new one (idempotent per subscription and price). */
  async ensureItem(sub: Stripe.Subscription, priceId: string): Promise<string> {
    const existing = sub.items.data.find((i) => (typeof i.price === 'string' ? i.price : i.price.id) === priceId);
    if (existing) return existing.id;
    const item = await this.stripe!.subscriptionItems.create(
      // a metered item takes no quantity and prorates nothing: it bills the meter's usage from now on
      { subscription: sub.id, price: priceId, proration_behavior: 'none' },
      { idempotencyKey: `oblako-hourly-item-${sub.id}-${priceId}` },
    );
    this.logger.log(`Subscription ${sub.id} now carries price ${priceId} (item ${item.id})`);
    return item.id;
  }
}
