import type { Request } from 'express';

/** The header a request names its tenant in (the user's first tenant without it; API tokens are bound to theirs). */
export const TENANT_HEADER = 'x-tenant-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant the request asks for in its header: its id, null when it names none, 'invalid' when it is not a UUID. */
export function askedTenantId(req: Request): string | null | 'invalid' {
  const header = req.headers[TENANT_HEADER];
  const asked = typeof header === 'string' && header !== '' ? header : null;
  return asked !== null && !UUID.test(asked) ? 'invalid' : asked;
}

/**
 * The membership the tenant guard checks, as SQL over two expressions (the user; the tenant, or NULL for the user's first
 * tenant): the guard's own query and the authentication strategies' one-statement lookup (a LATERAL join) share it.
 */
export function membershipSql(user: string, tenant: string): string {
  return `SELECT ms.tenant_id, ms.role, t.require_two_factor FROM memberships ms JOIN tenants t ON t.id = ms.tenant_id
           WHERE ms.user_id = ${user} AND (${tenant} IS NULL OR ms.tenant_id = ${tenant}) ORDER BY ms.created_at, ms.id LIMIT 1`;
}
