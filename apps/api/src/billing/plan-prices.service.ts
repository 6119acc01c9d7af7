import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { STRIPE } from './stripe.client.js';

interface PlanRow { id: string; name: string; price_monthly_cents: number; price_hourly_cents: number | null; currency: string; active: boolean; vcpus: number; memory_mib: number; disk_gib: number }
interface PriceRow { stripe_product_id: string; stripe_price_id: string; unit_amount: number; currency: string; stripe_meter_id: string | null; meter_event_name: string | null }

/** The meter event name of an hourly plan: one Stripe billing meter per hourly plan (Stripe allows up to 100 characters). */
export function meterEventName(planId: string): string {
  return `oblako_server_hours_${planId.replace(/-/g, '')}`;
}

/**
 * Plans as Stripe products with one active price each: a licensed monthly price, or for a plan billed by the hour a
 * metered price (per hour, billed monthly in arrears) on the plan's own billing meter, which sums the hours reported
 * by `HourlyMeterService`. Called when staff create or change a
 * plan, and again (lazily) before each checkout, so a plan whose sync failed is fixed on first use.
 * A price change creates a new Stripe price and archives the old one (Stripe prices are immutable);
 * existing subscriptions keep the price they were sold at.
 */
@Injectable()
export class PlanPricesService {
  private readonly logger = new Logger('PlanPrices');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
  ) {}

  /** Hook for the catalogue: a plan was created or changed. Never fails the staff request; a failure is retried at the next checkout. */
  async planChanged(planId: string): Promise<void> {
    if (!this.stripe) return;
    try {
      await this.syncPlan(planId);
    } catch (err) {
      this.logger.warn(`Stripe sync of plan ${planId} failed (retried at the next checkout): ${(err as Error).message}`);
    }
  }

  /** The plan's current Stripe price id for a checkout: from the mirror when it matches the plan's price, else synced now. */
  async ensurePrice(planId: string): Promise<string> {
    const [row]: { stripe_price_id: string }[] = await this.ds.query(
      `SELECT bp.stripe_price_id FROM billing_plan_prices bp JOIN plans p ON p.id = bp.plan_id
        WHERE bp.plan_id = $1 AND bp.unit_amount = coalesce(p.price_hourly_cents, p.price_monthly_cents) AND bp.currency = lower(p.currency)
          AND (p.price_hourly_cents IS NULL) = (bp.stripe_meter_id IS NULL)`,
      [planId],
    );
    return row ? row.stripe_price_id : this.syncPlan(planId);
  }

  /** Create or update the plan's product, and replace its price if the plan's price changed. */
  async syncPlan(planId: string): Promise<string> {
    const stripe = this.stripe;
    if (!stripe) throw new Error('billing is off');
    // The plan row lock serialises syncs of one plan across replicas; idempotency keys make a retried call return the same object.
    return this.ds.transaction(async (m) => {
      const [plan]: PlanRow[] = await m.query(
        'SELECT id, name, price_monthly_cents, price_hourly_cents, currency, active, vcpus, memory_mib, disk_gib FROM plans WHERE id = $1 FOR UPDATE',
        [planId],
      );
      if (!plan) throw new Error(`plan ${planId} does not exist`);
      const currency = plan.currency.trim().toLowerCase();
      const [current]: PriceRow[] = await m.query(
        'SELECT stripe_product_id, stripe_price_id, unit_amount, currency, stripe_meter_id, meter_event_name FROM billing_plan_prices WHERE plan_id = $1',
        [planId],
      );
      const description = `${plan.vcpus} vCPU, ${plan.memory_mib} MiB RAM, ${plan.disk_gib} GiB disk`;
      let productId = current?.stripe_product_id;
      if (!productId) {
        const product = await stripe.products.create(
          { name: plan.name, description, active: plan.active, metadata: { planId: plan.id } },
          { idempotencyKey: `oblako-plan-product-${plan.id}` },
        );
        productId = product.id;
      } else {
        await stripe.products.update(productId, { name: plan.name, description, active: plan.active });
      }
      const hourly = plan.price_hourly_cents !== null;
      const amount = plan.price_hourly_cents ?? plan.price_monthly_cents;
      let meterId = current?.stripe_meter_id ?? null;
      let eventName = current?.meter_event_name ?? null;
      if (hourly && !meterId) {
        eventName = meterEventName(plan.id);
        const meter = await stripe.billing.meters.create(
          { display_name: `${plan.name} server hours`, event_name: eventName, default_aggregation: { formula: 'sum' } },
          { idempotencyKey: `oblako-plan-meter-${plan.id}` },
        );
        meterId = meter.id;
      }
      if (current && current.unit_amount === amount && current.currency.trim() === currency && (current.stripe_meter_id !== null) === hourly) {
        await m.query('UPDATE billing_plan_prices SET updated_at = now() WHERE plan_id = $1', [planId]);
        return current.stripe_price_id;
      }
      const price = await stripe.prices.create(
        {
          product: productId,
          unit_amount: amount,
          currency,
          recurring: hourly ? { interval: 'month', usage_type: 'metered', meter: meterId! } : { interval: 'month' },
          metadata: { planId: plan.id, ...(hourly ? { per: 'hour' } : {}) },
        },
        { idempotencyKey: `oblako-plan-price-${plan.id}-${hourly ? 'hour-' : ''}${amount}-${currency}-${current?.stripe_price_id ?? 'first'}` },
      );
      if (current && current.stripe_price_id !== price.id) await stripe.prices.update(current.stripe_price_id, { active: false });
      await m.query(
        `INSERT INTO billing_plan_prices (plan_id, stripe_product_id, stripe_price_id, unit_amount, currency, stripe_meter_id, meter_event_name, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (plan_id) DO UPDATE SET stripe_product_id = $2, stripe_price_id = $3, unit_amount = $4, currency = $5, stripe_meter_id = $6, meter_event_name = $7, updated_at = now()`,
        [planId, productId, price.id, amount, currency, hourly ? meterId : null, hourly ? eventName : null],
      );
      return price.id;
    });
  }
}
