import { domainErrorClass } from '../common/domain-error.js';

export const BillingErrorCode = {
  Off: 'billing_off',
  InvalidSignature: 'invalid_signature',
  WebhookNotConfigured: 'webhook_not_configured',
  SubscriptionNotFound: 'subscription_not_found',
  ServerNotFound: 'server_not_found',
  NotPayable: 'not_payable',
  NoCustomer: 'no_customer',
  ProviderUnavailable: 'payment_provider_unavailable',
} as const;
export type BillingErrorCode = (typeof BillingErrorCode)[keyof typeof BillingErrorCode];

const STATUS: Record<BillingErrorCode, number> = {
  billing_off: 409,
  invalid_signature: 400,
  webhook_not_configured: 503,
  subscription_not_found: 404,
  server_not_found: 404,
  not_payable: 409,
  no_customer: 409,
  payment_provider_unavailable: 502,
};

/** The billing module's one exception type; the API's exception filter turns it into the ApiError body. */
export class BillingError extends domainErrorClass<BillingErrorCode>(STATUS) {}
