import express, { type Express } from 'express';

export const STRIPE_WEBHOOK_PATH = '/api/v1/billing/stripe/webhook';

/**
 * Keep the webhook's body as raw bytes: Stripe signs the exact bytes it sent, so the signature is
 * verified on them before anything parses JSON. Must be installed before the JSON body parser
 * (which then skips the already-read body).
 */
export function installStripeWebhookRawBody(app: Express): void {
  app.use(STRIPE_WEBHOOK_PATH, express.raw({ type: () => true, limit: '512kb' }));
}
