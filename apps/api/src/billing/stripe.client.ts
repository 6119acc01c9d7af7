import Stripe from 'stripe';
import type { BillingConfig } from './billing.config.js';

/** Injection token of the Stripe SDK client; null when billing is off (no STRIPE_SECRET_KEY). */
export const STRIPE = Symbol('STRIPE');

/** The real `stripe` SDK, configured from the validated billing settings. STRIPE_API_URL points it at another host. */
export function createStripeClient(billing: BillingConfig): Stripe | null {
  if (!billing.enabled) return null;
  return new Stripe(billing.stripeSecretKey, {
    maxNetworkRetries: 2,
    timeout: 15_000,
    telemetry: false,
    appInfo: { name: 'oblako' },
    ...(billing.stripeApi ? { host: billing.stripeApi.host, port: billing.stripeApi.port, protocol: billing.stripeApi.protocol } : {}),
  });
}

export type { Stripe };
