import { domainErrorClass } from '../common/domain-error.js';

export const TenantErrorCode = {
  NotFound: 'tenant_not_found',
  AlreadySuspended: 'tenant_already_suspended',
  NotSuspended: 'tenant_not_suspended',
} as const;
export type TenantErrorCode = (typeof TenantErrorCode)[keyof typeof TenantErrorCode];

const STATUS: Record<TenantErrorCode, number> = { tenant_not_found: 404, tenant_already_suspended: 409, tenant_not_suspended: 409 };

export class TenantError extends domainErrorClass<TenantErrorCode>(STATUS) {}
