import { domainErrorClass } from '../common/domain-error.js';

export const WebhookErrorCode = {
  UnsafeUrl: 'unsafe_url',
  EndpointNotFound: 'endpoint_not_found',
  DeliveryNotFound: 'delivery_not_found',
  EndpointDisabled: 'endpoint_disabled',
  TooManyEndpoints: 'too_many_endpoints',
} as const;
export type WebhookErrorCode = (typeof WebhookErrorCode)[keyof typeof WebhookErrorCode];

const STATUS: Record<WebhookErrorCode, number> = { unsafe_url: 400, endpoint_not_found: 404, delivery_not_found: 404, endpoint_disabled: 409, too_many_endpoints: 409 };

export class WebhookError extends domainErrorClass<WebhookErrorCode>(STATUS) {}
