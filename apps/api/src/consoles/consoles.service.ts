import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Permission, STAFF_ROLE_PERMISSIONS, TENANT_ROLE_PERMISSIONS, type ConsoleKind, type ConsoleTicketView } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { Principal } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { changedRows } from '../database/sql.js';
import { ConsoleError } from './consoles.errors.js';

/** Tenant roles and staff roles that may open a console, from the one permission table. */
const TENANT_ROLES = Object.entries(TENANT_ROLE_PERMISSIONS).filter(([, p]) => p.includes(Permission.ServersConsole)).map(([r]) => r);
const STAFF_ROLES = Object.entries(STAFF_ROLE_PERMISSIONS).filter(([, p]) => p.includes(Permission.ConsolesOpen)).map(([r]) => r);
const TICKET = /^[A-Za-z0-9_-]{43}$/;

/** A redeemed ticket: who may open which console, from where. */
export interface ConsoleGrant {
  ticketId: string;
  userId: string;
  tenantId: string;
  serverId: string;
  kind: ConsoleKind;
  asStaff: boolean;
  actorKind: 'user' | 'api_token' | 'staff';
  /** Where the ticket was asked for. */
  ip: string | null;
}

export type TicketRefusal = 'malformed' | 'unknown' | 'reused' | 'expired' | 'foreign';

function hashOf(ticket: string): Buffer {
  return createHash('sha256').update(ticket).digest();
}

/**
 * Console tickets and who may hold a console. A ticket is 256 random bits, stored as its SHA-256
 * only, bound to the user, the server (and so its tenant) and the kind, valid for
 * CONSOLE_TICKET_SECONDS and spent by the conditional UPDATE that redeems it, so two upgrades
 * racing with one ticket cannot both win.
 */
@Injectable()
export class ConsolesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A tenant member asks: the server must be the tenant's (404 otherwise) and running. */
  issueForTenant(principal: Principal, tenantId: string, serverId: string, kind: ConsoleKind, ip: string | null): Promise<ConsoleTicketView> {
    return this.issue(principal, { tenantId }, serverId, kind, ip);
  }

  /** Staff may open any tenant's server console. */
  issueForStaff(principal: Principal, serverId: string, kind: ConsoleKind, ip: string | null): Promise<ConsoleTicketView> {
    return this.issue(principal, null, serverId, kind, ip);
  }

  private async issue(principal: Principal, tenant: { tenantId: string } | null, serverId: string, kind: ConsoleKind, ip: string | null): Promise<ConsoleTicketView> {
    const [server]: { tenant_id: string; state: string; node_id: string | null }[] = await this.ds.query(
      `SELECT tenant_id, state, node_id FROM servers WHERE id = $1 AND deleted_at IS NULL ${tenant ? 'AND tenant_id = $2' : ''}`,
      tenant ? [serverId, tenant.tenantId] : [serverId],
    );
    if (!server || server.state === 'deleted') throw new ConsoleError('server_not_found', `No server with id ${serverId}.`);
    if (server.state !== 'running' || !server.node_id) {
      throw new ConsoleError('server_not_running', `The server is ${server.state}; its console opens only while it is running. Start it first.`);
    }
    const ticket = randomBytes(32).toString('base64url');
    const actorKind = tenant ? principal.kind : 'staff';
    const [row]: { expires_at: Date }[] = await this.ds.query(
      `INSERT INTO console_tickets (token_hash, user_id, tenant_id, server_id, kind, as_staff, actor_kind, ip, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9)) RETURNING expires_at`,
      [hashOf(ticket), principal.userId, server.tenant_id, serverId, kind, tenant === null, actorKind, ip, this.config.consoles.ticketSeconds],
    );
    // tickets are worthless after a few seconds: keep the table small
    await this.ds.query(`DELETE FROM console_tickets WHERE expires_at < now() - interval '1 day'`);
    return {
      serverId,
      kind,
      ticket,
      expiresAt: row!.expires_at.toISOString(),
      path: `/api/v1/servers/${serverId}/console/${kind}?ticket=${ticket}`,
    };
  }

  /** Spend a ticket for this server and kind; the reason is for the log only (the client hears one answer). */
  async redeem(ticket: string, serverId: string, kind: ConsoleKind): Promise<{ ok: true; grant: ConsoleGrant } | { ok: false; reason: TicketRefusal }> {
    if (!TICKET.test(ticket)) return { ok: false, reason: 'malformed' };
    const hash = hashOf(ticket);
    type Row = { id: string; user_id: string; tenant_id: string; server_id: string; kind: ConsoleKind; as_staff: boolean; actor_kind: ConsoleGrant['actorKind']; ip: string | null };
    const res: unknown = await this.ds.query(
      `UPDATE console_tickets SET used_at = now()
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() AND server_id = $2 AND kind = $3
        RETURNING id, user_id, tenant_id, server_id, kind, as_staff, actor_kind, ip`,
      [hash, serverId, kind],
    );
    const [row] = changedRows<Row>(res);
    if (row) {
      return { ok: true, grant: { ticketId: row.id, userId: row.user_id, tenantId: row.tenant_id, serverId: row.server_id, kind: row.kind, asStaff: row.as_staff, actorKind: row.actor_kind, ip: row.ip } };
    }
    const [t]: { used: boolean; expired: boolean; server_id: string; kind: string }[] = await this.ds.query(
      `SELECT used_at IS NOT NULL AS used, expires_at <= now() AS expired, server_id, kind FROM console_tickets WHERE token_hash = $1`,
      [hash],
    );
    if (!t) return { ok: false, reason: 'unknown' };
    if (t.server_id !== serverId || t.kind !== kind) return { ok: false, reason: 'foreign' };
    return { ok: false, reason: t.used ? 'reused' : 'expired' };
  }

  /**
   * May the grant's user hold this console now, and where is the server? Checked at the upgrade
   * and again while the session is open: a removed member, a changed role or staff role, a
   * deleted server or one that moved to another node ends the session.
   */
  async check(g: ConsoleGrant): Promise<{ allowed: boolean; state: string | null; nodeId: string | null }> {
    const [r]: { allowed: boolean; state: string | null; node_id: string | null }[] = await this.ds.query(
      `SELECT (CASE WHEN $4 THEN EXISTS (SELECT 1 FROM users u WHERE u.id = $1 AND u.staff_role = ANY($5::text[]))
                    ELSE EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = $1 AND m.tenant_id = $2 AND m.role = ANY($6::text[])) END) AS allowed,
              s.state, s.node_id
         FROM (SELECT 1) one LEFT JOIN servers s ON s.id = $3 AND s.tenant_id = $2 AND s.deleted_at IS NULL`,
      [g.userId, g.tenantId, g.serverId, g.asStaff, STAFF_ROLES, TENANT_ROLES],
    );
    return { allowed: !!r?.allowed && r.state !== null, state: r?.state ?? null, nodeId: r?.node_id ?? null };
  }

  async recordOpen(g: ConsoleGrant, sessionId: string, ip: string | null): Promise<void> {
    await this.audit.record(this.ds.manager, {
      tenantId: g.tenantId, actorUserId: g.userId, actorKind: g.actorKind, action: 'console.open', targetType: 'server', targetId: g.serverId, ip,
      details: { kind: g.kind, session: sessionId, asStaff: g.asStaff },
    });
  }

  async recordClose(g: ConsoleGrant, sessionId: string, ip: string | null, d: { reason: string; seconds: number; bytesIn: number; bytesOut: number; opened: boolean }): Promise<void> {
    await this.audit.record(this.ds.manager, {
      tenantId: g.tenantId, actorUserId: g.userId, actorKind: g.actorKind, action: 'console.close', targetType: 'server', targetId: g.serverId, ip,
      details: { kind: g.kind, session: sessionId, asStaff: g.asStaff, ...d },
    });
  }
}
