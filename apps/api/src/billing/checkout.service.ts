import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OrderBillingView } from '@oblako/contracts';
import type Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { BillingError } from './billing.errors.js';
import { HourlySubscriptionService } from './hourly-subscription.service.js';
import { PlanPricesService } from './plan-prices.service.js';
import { STRIPE } from './stripe.client.js';

interface OrderRow { server_id: string; tenant_id: string; order_key: string; checkout_session_id: string | null; checkout_url: string | null }

/**
 * The Stripe side of ordering: one Stripe customer per tenant, and one Checkout Session (mode
 * subscription) per ordered server. The session and the subscription it creates carry
 * { tenantId, serverId, orderKey } as metadata; the webhook worker fulfils an order only when all
 * three match the server_billing row, so no event can provision another tenant's server or a
 * server twice.
 */
@Injectable()
export class CheckoutService {
  private readonly logger = new Logger('Checkout');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PlanPricesService) private readonly prices: PlanPricesService,
    @Inject(HourlySubscriptionService) private readonly hourly: HourlySubscriptionService,
  ) {}

  /**
   * The ordering seam (servers/billing.port.ts): called right after a `pending_payment` server was
   * committed. Never throws: if no payment step can be started (Stripe unreachable, the team's hourly subscription
   * past due) the order stays pending, the answer says why (`unavailable`), and the panel gets a fresh link from
   * POST /api/v1/billing/servers/:id/checkout.
   */
  async startCheckout(input: { tenantId: string; serverId: string; planId: string }): Promise<OrderBillingView> {
    try {
      return { ...(await this.checkout(input.tenantId, input.serverId)), message: null };
    } catch (err) {
      this.logger.warn(`Checkout for server ${input.serverId} failed; the customer can retry: ${(err as Error).message}`);
      const message = err instanceof BillingError ? err.message : 'The payment provider could not be reached; try again in a minute.';
      return { mode: 'unavailable', checkoutUrl: null, message };
    }
  }

  /**
   * How a server waiting for payment is paid: the Checkout URL of the existing session, or of a new one; or `joined`
   * when it needs none (an hourly server of a tenant whose hourly subscription is live joins that subscription and is
   * placed on the next sweep).
   */
  async checkout(tenantId: string, serverId: string): Promise<{ mode: 'checkout'; checkoutUrl: string } | { mode: 'joined'; checkoutUrl: null }> {
    const stripe = this.requireStripe();
    const [server]: { id: string; plan_id: string; state: string }[] = await this.ds.query(
      'SELECT id, plan_id, state FROM servers WHERE id = $1 AND tenant_id = $2',
      [serverId, tenantId],
    );
    if (!server) throw new BillingError('server_not_found', 'No server with that id in this team.');
    if (server.state !== 'pending_payment') throw new BillingError('not_payable', `The server is ${server.state.replace('_', ' ')}, not waiting for payment.`);
    await this.ds.query(
      `INSERT INTO server_billing (server_id, tenant_id, plan_id) VALUES ($1, $2, $3) ON CONFLICT (server_id) DO NOTHING`,
      [serverId, tenantId, server.plan_id],
    );
    const [order]: OrderRow[] = await this.ds.query(
      'SELECT server_id, tenant_id, order_key, checkout_session_id, checkout_url FROM server_billing WHERE server_id = $1 AND tenant_id = $2',
      [serverId, tenantId],
    );
    if (!order) throw new BillingError('server_not_found', 'No server with that id in this team.');
    if (order.checkout_url) return { mode: 'checkout', checkoutUrl: order.checkout_url };
    try {
      const [plan]: { price_hourly_cents: number | null }[] = await this.ds.query('SELECT price_hourly_cents FROM plans WHERE id = $1', [server.plan_id]);
      const hourly = plan?.price_hourly_cents != null;
      if (hourly && (await this.hourly.join(tenantId, serverId, server.plan_id))) return { mode: 'joined', checkoutUrl: null };
      const customer = await this.ensureCustomer(tenantId);
      const price = await this.prices.ensurePrice(server.plan_id);
      const metadata = { tenantId, serverId, orderKey: order.order_key };
      const base = this.config.billing.returnUrl;
      // One open session per order: the idempotency key makes a retried create return the same session;
      // after checkout.session.expired (24 h) the next request makes a new one.
      const session = await stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          customer,
          client_reference_id: serverId,
          // A metered (hourly) price takes no quantity: the meter's events are the quantity.
          line_items: [hourly ? { price } : { price, quantity: 1 }],
          metadata,
          subscription_data: { metadata },
          success_url: `${base}/servers/${serverId}?checkout=success`,
          cancel_url: `${base}/servers/${serverId}?checkout=cancelled`,
        },
        { idempotencyKey: `oblako-checkout-${order.order_key}-${order.checkout_session_id ?? 'first'}` },
      );
      if (!session.url) throw new Error('Stripe returned a Checkout Session without a URL');
      await this.ds.query(
        `UPDATE server_billing SET checkout_session_id = $2, checkout_url = $3, updated_at = now()
          WHERE server_id = $1 AND checkout_url IS NULL AND checkout_session_id IS NOT DISTINCT FROM $4`,
        [serverId, session.id, session.url, order.checkout_session_id],
      );
      return { mode: 'checkout', checkoutUrl: session.url };
    } catch (err) {
      if (err instanceof BillingError) throw err;
      this.logger.warn(`Stripe checkout for server ${serverId} failed: ${(err as Error).message}`);
      throw new BillingError('payment_provider_unavailable', 'The payment provider could not be reached; try again in a minute.');
    }
  }

  /** The tenant's Stripe customer, created once (tenant row lock + idempotency key). */
  async ensureCustomer(tenantId: string): Promise<string> {
    const stripe = this.requireStripe();
    return this.ds.transaction(async (m) => {
      const [tenant]: { id: string; name: string; stripe_customer_id: string | null }[] = await m.query(
        'SELECT id, name, stripe_customer_id FROM tenants WHERE id = $1 FOR UPDATE',
        [tenantId],
      );
      if (!tenant) throw new BillingError('server_not_found', 'No such tenant.');
      if (tenant.stripe_customer_id) return tenant.stripe_customer_id;
      const customer = await stripe.customers.create({ name: tenant.name, metadata: { tenantId } }, { idempotencyKey: `oblako-tenant-customer-${tenantId}` });
      await m.query('UPDATE tenants SET stripe_customer_id = $2 WHERE id = $1', [tenantId, customer.id]);
      return customer.id;
    });
  }

  private requireStripe(): Stripe {
    if (!this.stripe) throw new BillingError('billing_off', 'Billing is off on this installation (no Stripe key configured); orders are provisioned at once.');
    return this.stripe;
  }
}
