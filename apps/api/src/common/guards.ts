import { applyDecorators, CanActivate, ExecutionContext, Inject, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiBearerAuth, ApiDefaultResponse, ApiHeader } from '@nestjs/swagger';
import { ApiErrorDto } from './api-error.dto.js';
import { staffRoleCan, tenantRoleCan, type Permission } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { CommonError } from './domain-error.js';
import type { MembershipRow, OblakoRequest, Principal } from './request-context.js';
import { APP_CONFIG } from './config.provider.js';
import type { AppConfig } from '../config/config.js';
import { staffRequireTwoFactor } from '../auth/staff-policy.js';
import { askedTenantId, membershipSql, TENANT_HEADER } from './tenant-membership.js';

const PERMISSION_KEY = 'oblako:permission';
export { TENANT_HEADER } from './tenant-membership.js';

/** 1. Authentication: a JWT access token or an API token, both as `Authorization: Bearer ...`. */
@Injectable()
export class AuthenticationGuard extends AuthGuard(['jwt', 'api-token']) {
  override handleRequest<T = Principal>(err: unknown, user: T | false): T {
    if (err) throw err;
    if (!user) {
      throw new CommonError('unauthenticated', 'Authentication required: send "Authorization: Bearer <access token or API token>". Access tokens expire; get a new one from POST /api/v1/auth/refresh.');
    }
    return user;
  }
}

async function membershipOf(ds: DataSource, userId: string, tenantId: string | null): Promise<MembershipRow | null> {
  const rows: MembershipRow[] = await ds.query(membershipSql('$1', '$2::uuid'), [userId, tenantId]);
  return rows[0] ?? null;
}

/** 2. Tenant: which tenant the request acts in, and the caller's role there. */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<OblakoRequest>();
    const principal = req.user;
    if (!principal) throw new Error('TenantGuard must run after AuthenticationGuard');
    const asked = askedTenantId(req);
    if (asked === 'invalid') throw new CommonError('validation_failed', `The ${TENANT_HEADER} header must be a tenant id (a UUID).`);
    let tenantId = principal.apiTokenTenantId ?? asked;
    if (principal.apiTokenTenantId && asked && asked !== principal.apiTokenTenantId) {
      throw new CommonError('forbidden', `This API token belongs to another tenant than the ${TENANT_HEADER} header names; drop the header or use a token of that tenant.`);
    }
    // read with the principal when the strategy knew which tenant this request asks for (every JWT and API token request)
    const row = req.membership && req.membership.asked === tenantId ? req.membership.row : await membershipOf(this.ds, principal.userId, tenantId);
    if (!row) {
      if (tenantId) throw new CommonError('not_found', 'You are not a member of that tenant.');
      throw new CommonError('no_tenant', 'Your account belongs to no team; sign up with a team name or ask a team owner to invite you.');
    }
    if (row.require_two_factor && !principal.twoFactorEnabled) {
      throw new CommonError('two_factor_required', 'This team requires two-factor sign-in: turn it on under Account → Security (POST /api/v1/auth/2fa/setup), then try again.');
    }
    tenantId = row.tenant_id;
    req.tenantContext = { tenantId, role: row.role };
    return true;
  }
}

export const RequirePermission = (permission: Permission) => SetMetadata(PERMISSION_KEY, permission);

/** 3. Permission: tenant permissions from the caller's role in the tenant, staff permissions from the staff role. */
@Injectable()
export class PermissionGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(DataSource) private readonly ds: DataSource,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(PERMISSION_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (!permission) throw new Error(`Route ${ctx.getClass().name}.${ctx.getHandler().name} declares no permission; deny by default`);
    const req = ctx.switchToHttp().getRequest<OblakoRequest>();
    const principal = req.user;
    if (!principal) throw new Error('PermissionGuard must run after AuthenticationGuard');
    if (permission.startsWith('admin:')) {
      if (principal.kind === 'user' && principal.staffRole && staffRoleCan(principal.staffRole, permission)) {
        if (!principal.twoFactorEnabled && (await staffRequireTwoFactor(this.ds))) {
          throw new CommonError('two_factor_required', 'Staff must use two-factor sign-in: turn it on under Account → Security (POST /api/v1/auth/2fa/setup), then try again.');
        }
        return true;
      }
      throw new CommonError('forbidden', `This endpoint is for provider staff with the "${permission}" permission.`);
    }
    const tenant = req.tenantContext;
    if (!tenant) throw new Error('Tenant permission checked without TenantGuard');
    if (tenantRoleCan(tenant.role, permission)) return true;
    throw new CommonError('forbidden', `Your role "${tenant.role}" in this team does not allow "${permission}"; ask a team owner or admin.`);
  }
}

/**
 * Ordering needs a confirmed address (when REQUIRE_EMAIL_VERIFICATION is on, the default). Put it
 * on a route after the class-level guards: `@UseGuards(VerifiedEmailGuard)`.
 */
@Injectable()
export class VerifiedEmailGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(ctx: ExecutionContext): boolean {
    const principal = ctx.switchToHttp().getRequest<OblakoRequest>().user;
    if (!principal) throw new Error('VerifiedEmailGuard must run after AuthenticationGuard');
    if (!this.config.requireEmailVerification || principal.emailVerified) return true;
    throw new CommonError('email_not_verified', `Confirm your email address first: open the link we mailed to ${principal.email} (or ask for a new one with POST /api/v1/auth/verify-email/resend).`);
  }
}

/** Tenant routes: authentication, tenant, permission, in that order. */
export function TenantScoped(permission?: Permission) {
  return applyDecorators(
    UseGuards(AuthenticationGuard, TenantGuard, PermissionGuard),
    ApiDefaultResponse({ type: ApiErrorDto, description: 'Error (ApiError)' }),
    ...(permission ? [RequirePermission(permission)] : []),
    ApiBearerAuth(),
    ApiHeader({ name: TENANT_HEADER, required: false, description: "Tenant to act in; defaults to the user's first tenant (API tokens are bound to theirs)." }),
  );
}

/** Staff routes: authentication, then a staff permission. */
export function StaffOnly(permission: Permission) {
  return applyDecorators(
    UseGuards(AuthenticationGuard, PermissionGuard),
    RequirePermission(permission),
    ApiBearerAuth(),
    ApiDefaultResponse({ type: ApiErrorDto, description: 'Error (ApiError)' }),
  );
}

/** Authenticated routes that need no tenant (e.g. /auth/me). */
export function Authenticated() {
  return applyDecorators(UseGuards(AuthenticationGuard), ApiBearerAuth(), ApiDefaultResponse({ type: ApiErrorDto, description: 'Error (ApiError)' }));
}
