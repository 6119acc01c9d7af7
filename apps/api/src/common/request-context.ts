import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { StaffRole, TenantRole } from '@oblako/contracts';
import type { Request } from 'express';

/** Who is calling: set by the authentication guard. */
export interface Principal {
  kind: 'user' | 'api_token';
  userId: string;
  email: string;
  staffRole: StaffRole | null;
  /** Login session (refresh family) of an access token. */
  sessionId: string | null;
  /** For API tokens: the token and the one tenant it belongs to. */
  apiTokenId: string | null;
  apiTokenTenantId: string | null;
  /** The user has two-factor sign-in on (API tokens act as their user). */
  twoFactorEnabled: boolean;
  emailVerified: boolean;
}

/** The tenant a request acts in: set by the tenant guard. */
export interface TenantContext {
  tenantId: string;
  role: TenantRole;
}

/** A membership as the tenant guard checks it. */
export interface MembershipRow {
  tenant_id: string;
  role: TenantRole;
  require_two_factor: boolean;
}

/**
 * The caller's membership in the tenant the request asks for (`asked`: the tenant header's id, the API token's tenant, or
 * null for the user's first tenant), read by the authentication strategy in the same statement as the principal, so an
 * authenticated tenant request costs one round trip to PostgreSQL before its own work instead of two. It belongs to this
 * request only (nothing is kept between requests); the tenant guard uses it when it resolves the same `asked`.
 */
export interface MembershipLookup {
  asked: string | null;
  row: MembershipRow | null;
}

export interface OblakoRequest extends Request {
  user?: Principal;
  tenantContext?: TenantContext;
  membership?: MembershipLookup;
}

/** The authenticated caller. Throws if the authentication guard did not run: a wiring bug, never a fallback. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<OblakoRequest>();
  if (!req.user) throw new Error('CurrentPrincipal used on a route without the authentication guard');
  return req.user;
});

/** The current tenant's id. Throws if the tenant guard did not set it; it never falls back. */
export const CurrentTenant = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const req = ctx.switchToHttp().getRequest<OblakoRequest>();
  if (!req.tenantContext) throw new Error('CurrentTenant used on a route without the tenant guard');
  return req.tenantContext.tenantId;
});

/** The caller's role in the current tenant. Throws if the tenant guard did not set it. */
export const CurrentTenantRole = createParamDecorator((_: unknown, ctx: ExecutionContext): TenantRole => {
  const req = ctx.switchToHttp().getRequest<OblakoRequest>();
  if (!req.tenantContext) throw new Error('CurrentTenantRole used on a route without the tenant guard');
  return req.tenantContext.role;
});

/** Who did it and from where, for the audit log. */
export interface Actor {
  userId: string;
  kind: 'user' | 'api_token' | 'staff';
  ip: string | null;
}

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const req = ctx.switchToHttp().getRequest<OblakoRequest>();
  if (!req.user) throw new Error('CurrentActor used on a route without the authentication guard');
  return { userId: req.user.userId, kind: req.user.kind, ip: req.ip ?? null };
});

/** The control plane itself acting (billing, staff holds carried out, timeouts, reconciliation): audited as kind "system". */
export interface SystemActor {
  userId: null;
  kind: 'system';
  ip: null;
}
export const SYSTEM_ACTOR: SystemActor = Object.freeze({ userId: null, kind: 'system', ip: null });

/** Whoever starts an operation on a server: a person (user, token, staff) or the system. */
export type OperationActor = Actor | SystemActor;
