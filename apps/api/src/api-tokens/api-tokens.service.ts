import { Inject, Injectable } from '@nestjs/common';
import type { ApiTokenCreatedView, ApiTokenView, StaffRole, TenantRole } from '@oblako/contracts';
import { DataSource, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { newSecret, sha256Hex } from '../auth/secrets.js';
import { changedCount } from '../database/sql.js';
import { CommonError } from '../common/domain-error.js';
import type { Actor, MembershipLookup, Principal } from '../common/request-context.js';
import { ApiTokenEntity } from './api-token.entity.js';

const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class ApiTokensService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async create(tenantId: string, actor: Actor, name: string): Promise<ApiTokenCreatedView> {
    const token = newSecret('oat');
    return this.ds.transaction(async (m) => {
      const row = await m.save(
        m.create(ApiTokenEntity, { tenantId, userId: actor.userId, name: name.trim(), prefix: token.slice(0, 12), tokenHash: sha256Hex(token), lastUsedAt: null, revokedAt: null }),
      );
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'api_token.create', targetType: 'api_token', targetId: row.id, ip: actor.ip });
      return { ...toView(row), token };
    });
  }

  async list(tenantId: string): Promise<ApiTokenView[]> {
    const rows = await this.ds.getRepository(ApiTokenEntity).find({ where: { tenantId, revokedAt: IsNull() }, order: { createdAt: 'DESC', id: 'DESC' } });
    return rows.map(toView);
  }

  async revoke(tenantId: string, actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const res = await m.query(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL RETURNING id`, [id, tenantId]);
      if (changedCount(res) === 0) {
        throw new CommonError('not_found', 'No API token with that id in this team (it may already be revoked).');
      }
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'api_token.revoke', targetType: 'api_token', targetId: id, ip: actor.ip });
    });
  }

  /** Resolve a presented token; it acts with its creator's current role in its tenant. */
  /** The principal of an API token that is not revoked, and its membership in the token's tenant (what the tenant guard checks). */
  async principalForToken(token: string): Promise<{ principal: Principal; membership: MembershipLookup } | null> {
    const rows: { id: string; tenant_id: string; user_id: string; email: string; staff_role: StaffRole | null; last_used_at: Date | null; two_factor: boolean; verified: boolean; role: TenantRole; require_two_factor: boolean }[] = await this.ds.query(
      `SELECT t.id, t.tenant_id, t.user_id, u.email, u.staff_role, t.last_used_at,
              u.totp_enabled_at IS NOT NULL AS two_factor, u.email_verified_at IS NOT NULL AS verified, ms.role, tn.require_two_factor
         FROM api_tokens t
         JOIN users u ON u.id = t.user_id
         JOIN memberships ms ON ms.user_id = t.user_id AND ms.tenant_id = t.tenant_id
         JOIN tenants tn ON tn.id = t.tenant_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
      [sha256Hex(token)],
    );
    const row = rows[0];
    if (!row) return null;
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.ds.query('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [row.id]);
    }
    // Staff powers are never exercised through an API token.
    const principal: Principal = { kind: 'api_token', userId: row.user_id, email: row.email, staffRole: null, sessionId: null, apiTokenId: row.id, apiTokenTenantId: row.tenant_id,
      twoFactorEnabled: row.two_factor, emailVerified: row.verified };
    return { principal, membership: { asked: row.tenant_id, row: { tenant_id: row.tenant_id, role: row.role, require_two_factor: row.require_two_factor } } };
  }
}

function toView(row: ApiTokenEntity): ApiTokenView {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt.toISOString(), lastUsedAt: row.lastUsedAt?.toISOString() ?? null };
}
