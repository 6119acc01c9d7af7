import { Inject, Injectable } from '@nestjs/common';
import type { TenantRole } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../common/request-context.js';
import { MemberError } from './members.errors.js';

export interface MemberView { userId: string; email: string; role: TenantRole; createdAt: string }

interface Row { user_id: string; email: string; role: TenantRole; created_at: Date }

/**
 * Who belongs to a tenant and with which role. Only an owner may make, change or remove an
 * owner, and a tenant always keeps at least one owner.
 */
@Injectable()
export class MembersService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(tenantId: string): Promise<MemberView[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT ms.user_id, u.email, ms.role, ms.created_at FROM memberships ms JOIN users u ON u.id = ms.user_id
        WHERE ms.tenant_id = $1 ORDER BY ms.created_at, ms.id`,
      [tenantId],
    );
    return rows.map(view);
  }

  async changeRole(tenantId: string, actor: Actor, actorRole: TenantRole, userId: string, role: TenantRole): Promise<MemberView> {
    return this.ds.transaction(async (m) => {
      const current = await this.lockMember(m, tenantId, userId);
      if ((current === 'owner' || role === 'owner') && actorRole !== 'owner') throw ownerOnly();
      if (current === 'owner' && role !== 'owner') await this.keepAnOwner(m, tenantId);
      await m.query('UPDATE memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId, role]);
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'member.role', targetType: 'user', targetId: userId, ip: actor.ip, details: { from: current, to: role } });
      return this.one(m, tenantId, userId);
    });
  }

  async remove(tenantId: string, actor: Actor, actorRole: TenantRole, userId: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const current = await this.lockMember(m, tenantId, userId);
      if (current === 'owner' && actorRole !== 'owner') throw ownerOnly();
      if (current === 'owner') await this.keepAnOwner(m, tenantId);
      await m.query('DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
      // API tokens act as their creator; they end with the membership.
      await m.query('UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL', [tenantId, userId]);
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'member.remove', targetType: 'user', targetId: userId, ip: actor.ip, details: { role: current } });
    });
  }

  /** Lock every membership of the tenant (so two owners cannot demote each other at once) and return the member's role. */
  private async lockMember(m: EntityManager, tenantId: string, userId: string): Promise<TenantRole> {
    const rows: { user_id: string; role: TenantRole }[] = await m.query('SELECT user_id, role FROM memberships WHERE tenant_id = $1 ORDER BY id FOR UPDATE', [tenantId]);
    const row = rows.find((r) => r.user_id === userId);
    if (!row) throw new MemberError('member_not_found', 'No member with that user id in this team.');
    return row.role;
  }

  private async keepAnOwner(m: EntityManager, tenantId: string): Promise<void> {
    const [{ n }]: { n: number }[] = await m.query(`SELECT count(*)::int AS n FROM memberships WHERE tenant_id = $1 AND role = 'owner'`, [tenantId]);
    if (n <= 1) throw new MemberError('last_owner', 'A team needs at least one owner; make someone else owner first.');
  }

  private async one(m: EntityManager, tenantId: string, userId: string): Promise<MemberView> {
    const [row]: Row[] = await m.query(
      'SELECT ms.user_id, u.email, ms.role, ms.created_at FROM memberships ms JOIN users u ON u.id = ms.user_id WHERE ms.tenant_id = $1 AND ms.user_id = $2',
      [tenantId, userId],
    );
    return view(row!);
  }
}

const ownerOnly = () => new MemberError('owner_only', 'Only an owner may make, change or remove an owner.');

function view(r: Row): MemberView {
  return { userId: r.user_id, email: r.email, role: r.role, createdAt: r.created_at.toISOString() };
}
