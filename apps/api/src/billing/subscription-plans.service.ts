import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { changedCount } from '../database/sql.js';
import { HourlySubscriptionService } from './hourly-subscription.service.js';
import { PlanPricesService } from './plan-prices.service.js';
import { STRIPE } from './stripe.client.js';

interface PendingRow { server_id: string; tenant_id: string; plan_id: string; stripe_subscription_id: string; hourly: boolean }

/**
 * After a resize, the server's subscription follows its new plan: its item moves to the plan's current price with
 * proration (Stripe bills or credits the rest of the period). The resize only marks the billing row
 * (`stripe_price_pending`, in the transaction that ends it); this runs on the billing worker's sweep, outside any
 * transaction, so a Stripe outage delays the price and never the resize. The idempotency key carries the price, so a
 * retry after a lost answer does not prorate twice.
 */
@Injectable()
export class SubscriptionPlansService {
  private readonly logger = new Logger('SubscriptionPlans');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(PlanPricesService) private readonly prices: PlanPricesService,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(HourlySubscriptionService) private readonly hourly: HourlySubscriptionService,
  ) {}

  /** Move every marked subscription to its plan's price; returns how many moved. Failures stay marked for the next sweep. */
  async syncPending(limit = 50): Promise<number> {
    const stripe = this.stripe;
    if (!stripe) return 0;
    const rows: PendingRow[] = await this.ds.query(
      `SELECT sb.server_id, sb.tenant_id, sb.plan_id, sb.stripe_subscription_id, (p.price_hourly_cents IS NOT NULL) AS hourly
         FROM server_billing sb JOIN plans p ON p.id = sb.plan_id
        WHERE sb.stripe_price_pending AND sb.stripe_subscription_id IS NOT NULL AND sb.subscription_ended_at IS NULL
        ORDER BY sb.updated_at LIMIT $1`,
      [limit],
    );
    let moved = 0;
    for (const row of rows) {
      try {
        const priceId = await this.prices.ensurePrice(row.plan_id);
        const sub = await stripe.subscriptions.retrieve(row.stripe_subscription_id);
        const item = sub.items.data[0];
        if (!item) throw new Error(`subscription ${sub.id} has no item`);
        const from = typeof item.price === 'string' ? item.price : item.price.id;
        if (row.hourly) {
          // The tenant's hourly subscription is shared: the other servers keep their plan's item, so the new plan's
          // metered price gets an item of its own (once); the meter events say which hours belong to which plan.
          await this.hourly.ensureItem(sub, priceId);
        } else if (from !== priceId) {
          await stripe.subscriptions.update(
            sub.id,
            { items: [{ id: item.id, price: priceId }], proration_behavior: 'create_prorations' },
            { idempotencyKey: `oblako-plan-change-${row.server_id}-${priceId}` },
          );
        }
        await this.ds.transaction(async (m) => {
          const done = changedCount(await m.query(
            `UPDATE server_billing SET stripe_price_pending = false, updated_at = now() WHERE server_id = $1 AND plan_id = $2 AND stripe_price_pending RETURNING server_id`,
            [row.server_id, row.plan_id],
          ));
          if (done === 0) return; // the plan changed again meanwhile: the next sweep moves it on
          if (from === priceId || row.hourly) return;
          await this.audit.record(m, {
            tenantId: row.tenant_id, actorUserId: null, actorKind: 'system', action: 'billing.plan_changed', targetType: 'server', targetId: row.server_id, ip: null,
            details: { subscriptionId: sub.id, fromPriceId: from, toPriceId: priceId, planId: row.plan_id, proration: 'create_prorations' },
          });
        });
        moved++;
      } catch (err) {
        this.logger.warn(`Moving the subscription of server ${row.server_id} to its new plan failed (retried on the next sweep): ${(err as Error).message}`);
      }
    }
    return moved;
  }
}
