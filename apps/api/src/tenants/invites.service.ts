import { Inject, Injectable } from '@nestjs/common';
import type { InviteView, TenantRole } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { AuthError } from '../auth/auth.errors.js';
import { newSecret, sha256Hex } from '../auth/secrets.js';
import type { Actor } from '../common/request-context.js';
import { MailService } from '../mail/mail.service.js';
import { accountMail } from '../mail/templates.js';
import { MemberError } from './members.errors.js';

export const INVITE_TTL_SECONDS = 7 * 24 * 3600;

interface InviteRow { id: string; tenant_id: string; email: string; role: TenantRole; expires_at: Date; accepted_at: Date | null; revoked_at: Date | null; created_at: Date }

export interface InvitePreview { tenantName: string; email: string; role: TenantRole; expiresAt: string }

/**
 * Members join by invitation only: the inviter names an address and a role, the address gets a
 * link, and whoever holds it accepts from an account with that address (or signs up with the
 * link). The answer to an invitation never says whether the address already has an account.
 */
@Injectable()
export class InvitesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(MailService) private readonly mail: MailService,
  ) {}

  async invite(tenantId: string, actor: Actor, actorRole: TenantRole, emailRaw: string, role: TenantRole): Promise<InviteView> {
    if (role === 'owner' && actorRole !== 'owner') throw new MemberError('owner_only', 'Only an owner may make, change or remove an owner.');
    const email = emailRaw.trim().toLowerCase();
    const view = await this.ds.transaction(async (m) => {
      // Visible in the member list anyway, so saying so reveals nothing about other tenants.
      const member = await m.query('SELECT 1 FROM memberships ms JOIN users u ON u.id = ms.user_id WHERE ms.tenant_id = $1 AND lower(u.email) = $2', [tenantId, email]);
      if (member.length) throw new MemberError('already_member', 'That person is already a member of this team; change their role instead.');
      // A new invitation replaces a pending one for the same address.
      await m.query('UPDATE invites SET revoked_at = now() WHERE tenant_id = $1 AND lower(email) = $2 AND accepted_at IS NULL AND revoked_at IS NULL', [tenantId, email]);
      const token = newSecret('oin');
      const [row]: InviteRow[] = await m.query(
        `INSERT INTO invites (tenant_id, email, role, token_hash, invited_by, expires_at) VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
         RETURNING id, tenant_id, email, role, expires_at, accepted_at, revoked_at, created_at`,
        [tenantId, email, role, sha256Hex(token), actor.userId, INVITE_TTL_SECONDS],
      );
      const [ctx]: { tenant: string; inviter: string }[] = await m.query('SELECT t.name AS tenant, u.email AS inviter FROM tenants t, users u WHERE t.id = $1 AND u.id = $2', [tenantId, actor.userId]);
      await this.mail.enqueue(m, { to: email, template: 'invite', tenantId, content: (b) => accountMail.invite(b, token, ctx!.tenant, ctx!.inviter, role) });
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'member.invite', targetType: 'invite', targetId: row!.id, ip: actor.ip, details: { email, role } });
      return inviteView(row!);
    });
    this.mail.wake();
    return view;
  }

  async list(tenantId: string): Promise<InviteView[]> {
    const rows: InviteRow[] = await this.ds.query(
      `SELECT id, tenant_id, email, role, expires_at, accepted_at, revoked_at, created_at FROM invites WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT 200`,
      [tenantId],
    );
    return rows.map(inviteView);
  }

  async revoke(tenantId: string, actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const res: [unknown[], number] = await m.query('UPDATE invites SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL', [tenantId, id]);
      if (!res[1]) throw new MemberError('invite_not_found', 'No pending invitation with that id in this team.');
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'member.invite_revoke', targetType: 'invite', targetId: id, ip: actor.ip });
    });
  }

  async preview(token: string): Promise<InvitePreview> {
    const [row]: (InviteRow & { tenant_name: string })[] = await this.ds.query(
      `SELECT i.*, t.name AS tenant_name FROM invites i JOIN tenants t ON t.id = i.tenant_id
        WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()`,
      [sha256Hex(token)],
    );
    if (!row) throw invalidInvite();
    return { tenantName: row.tenant_name, email: row.email, role: row.role, expiresAt: row.expires_at.toISOString() };
  }

  /** Accept with an existing account whose address is the invited one. */
  async accept(userId: string, ip: string | null, token: string): Promise<{ tenantId: string; tenantName: string; role: TenantRole }> {
    return this.ds.transaction(async (m) => {
      const [user]: { email: string }[] = await m.query('SELECT email FROM users WHERE id = $1', [userId]);
      return this.consume(m, token, userId, user!.email, ip);
    });
  }

  /**
   * Spend the invitation for `userId` (in the caller's transaction): the membership is made, the
   * invite marked accepted, and the address counts as verified (the link reached it).
   */
  async consume(m: EntityManager, token: string, userId: string, email: string, ip: string | null): Promise<{ tenantId: string; tenantName: string; role: TenantRole }> {
    const [row]: (InviteRow & { tenant_name: string })[] = await m.query(
      `SELECT i.*, t.name AS tenant_name FROM invites i JOIN tenants t ON t.id = i.tenant_id
        WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now() FOR UPDATE OF i`,
      [sha256Hex(token)],
    );
    if (!row) throw invalidInvite();
    if (row.email.toLowerCase() !== email.toLowerCase()) {
      throw new AuthError('invite_not_for_you', `This invitation is for ${row.email}; sign in with that address (or sign up with it) to accept.`);
    }
    await m.query('INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, user_id) DO NOTHING', [row.tenant_id, userId, row.role]);
    await m.query('UPDATE invites SET accepted_at = now(), accepted_by = $2 WHERE id = $1', [row.id, userId]);
    await m.query('UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1', [userId]);
    await this.audit.record(m, { tenantId: row.tenant_id, actorUserId: userId, actorKind: 'user', action: 'member.join', targetType: 'user', targetId: userId, ip, details: { role: row.role, inviteId: row.id } });
    return { tenantId: row.tenant_id, tenantName: row.tenant_name, role: row.role };
  }
}

function invalidInvite(): AuthError {
  return new AuthError('invalid_token', 'This invitation link is not valid: it was used, withdrawn or has expired. Ask the team for a new one.');
}

function inviteView(r: InviteRow): InviteView {
  const state: InviteView['state'] = r.accepted_at ? 'accepted' : r.revoked_at ? 'revoked' : r.expires_at.getTime() <= Date.now() ? 'expired' : 'pending';
  return { id: r.id, email: r.email, role: r.role, state, expiresAt: r.expires_at.toISOString(), createdAt: r.created_at.toISOString() };
}
