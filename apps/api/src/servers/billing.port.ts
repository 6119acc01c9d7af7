import { Inject, Injectable, Optional } from '@nestjs/common';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import type { OrderBillingView } from '@oblako/contracts';

/** Token under which the billing module provides checkout (billing/checkout.service.ts). */
export const CHECKOUT_STARTER = Symbol('CHECKOUT_STARTER');
export interface CheckoutStarter {
  startCheckout(input: { tenantId: string; serverId: string; planId: string }): Promise<OrderBillingView>;
}

/**
 * The seam where billing plugs into ordering. With billing off (no STRIPE_SECRET_KEY) an order
 * is placed at once. With billing on, the server waits in `pending_payment` and
 * `startCheckout` answers how it is paid (a Stripe Checkout URL, or joined to the team's hourly subscription, or why
 * no payment step could be started); the paid webhook then calls
 * `ServersService.provisionPaid(serverId)`. The Stripe side is the billing issue's work.
 */
@Injectable()
export class BillingPort {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(CHECKOUT_STARTER) private readonly checkout: CheckoutStarter | null = null,
  ) {}

  get enabled(): boolean {
    return this.config.billing.enabled;
  }

  /** How an order is paid: `off` with billing off; otherwise what the billing module answers for the server waiting for payment. */
  async startCheckout(input: { tenantId: string; serverId: string; planId: string }): Promise<OrderBillingView> {
    if (!this.enabled) return { mode: 'off', checkoutUrl: null, message: null };
    if (!this.checkout) return { mode: 'unavailable', checkoutUrl: null, message: 'Payments are not available on this installation yet.' };
    return this.checkout.startCheckout(input);
  }
}
