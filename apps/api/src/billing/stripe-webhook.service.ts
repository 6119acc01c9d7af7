import { Inject, Injectable } from '@nestjs/common';
import type Stripe from 'stripe';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { BillingError } from './billing.errors.js';
import { BillingEventsService } from './billing-events.service.js';
import { BillingWorker } from './billing-worker.service.js';
import { STRIPE } from './stripe.client.js';

/**
 * The synchronous half of the webhook: verify the signature on the raw bytes (SDK's constructEvent,
 * default tolerance of 300 s against replay), store the event once in the inbox, wake the worker,
 * answer. Nothing else happens before the 200, so the answer is fast and a crash after it loses nothing.
 */
@Injectable()
export class StripeWebhookService {
  constructor(
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BillingEventsService) private readonly events: BillingEventsService,
    @Inject(BillingWorker) private readonly worker: BillingWorker,
  ) {}

  async receive(rawBody: unknown, signature: string | undefined): Promise<{ received: true; duplicate: boolean }> {
    const billing = this.config.billing;
    if (!billing.enabled || !this.stripe) throw new BillingError('billing_off', 'Billing is off on this installation; no Stripe events are accepted.');
    if (!billing.stripeWebhookSecret) throw new BillingError('webhook_not_configured', 'STRIPE_WEBHOOK_SECRET is not set, so Stripe events cannot be verified.');
    if (!Buffer.isBuffer(rawBody) || !signature) {
      throw new BillingError('invalid_signature', 'A Stripe webhook needs the raw request body and its Stripe-Signature header.');
    }
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signature, billing.stripeWebhookSecret);
    } catch {
      throw new BillingError('invalid_signature', 'The Stripe signature does not match this endpoint\'s secret, or its timestamp is too old.');
    }
    const stored = await this.events.store(event);
    if (stored) this.worker.wake();
    return { received: true, duplicate: !stored };
  }
}
