import { Inject, Injectable, Optional } from '@nestjs/common';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';

/** Token under which the billing module provides checkout (billing/checkout.service.ts). */
export const CHECKOUT_STARTER = Symbol('CHECKOUT_STARTER');
export interface CheckoutStarter {
  startCheckout(input: { tenantId: string; serverId: string; planId: string }): Promise<string | null>;
}

/**
 * The seam where billing plugs into ordering. With billing off (no STRIPE_SECRET_KEY) an order
 * is placed at once. With billing on, the server waits in `pending_payment` and
 * `startCheckout` must return the Stripe Checkout URL; the paid webhook then calls
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

  /** Checkout URL for a server waiting for payment; null until the billing module provides one. */
  async startCheckout(input: { tenantId: string; serverId: string; planId: string }): Promise<string | null> {
    return this.checkout ? this.checkout.startCheckout(input) : null;
  }
}
