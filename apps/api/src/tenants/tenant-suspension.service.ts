import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { BillingReconciler } from '../billing/billing-reconciler.service.js';
import { BillingService } from '../billing/billing.service.js';
import type { Actor } from '../common/request-context.js';
import { TenantError } from './tenants.errors.js';

/** The staff-hold reason on each server a tenant suspension holds; the unsuspension lifts exactly these. */
export function tenantHoldReason(reason: string): string {
  return `Tenant suspended: ${reason}`;
}

/** How many servers are reconciled at once after a tenant (un)suspension commits. */
const RECONCILE_CONCURRENCY = 8;

export interface TenantSuspensionResult {
  /** Servers whose staff hold this call placed (suspend) or lifted (unsuspend). */
  serverIds: string[];
  /** Suspend only: servers left alone because staff had already held them for another reason. */
  alreadyHeld: string[];
}

/**
 * Staff suspend a whole tenant: the flag on the tenant (orders refused), and a staff hold through the
 * billing module's one hold path on every live server of it, so the reconciler stops them and the
 * customer cannot start them. Servers staff had already held one by one keep their own hold; the
 * unsuspension lifts only the holds carrying this suspension's reason, and the reconciler restarts
 * what was running.
 */
@Injectable()
export class TenantSuspensionService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(BillingService) private readonly billing: BillingService,
    @Inject(BillingReconciler) private readonly reconciler: BillingReconciler,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async suspend(actor: Actor, tenantId: string, reason: string): Promise<TenantSuspensionResult> {
    const result = await this.ds.transaction(async (m) => {
      // The tenant row lock orders this against orders in flight (they read the flag FOR SHARE): an order
      // either committed before (its server is held below) or sees the flag and is refused.
      const [tenant]: { suspended_at: Date | null; suspended_reason: string | null }[] = await m.query(
        'SELECT suspended_at, suspended_reason FROM tenants WHERE id = $1 FOR UPDATE',
        [tenantId],
      );
      if (!tenant) throw notFound(tenantId);
      if (tenant.suspended_at) {
        throw new TenantError(
          'tenant_already_suspended',
          `The tenant has been suspended since ${tenant.suspended_at.toISOString()} (reason: ${tenant.suspended_reason}); unsuspend it first to suspend it again with another reason.`,
        );
      }
      await m.query('UPDATE tenants SET suspended_at = now(), suspended_reason = $2 WHERE id = $1', [tenantId, reason]);
      const servers: { id: string; staff_hold: boolean }[] = await m.query(
        `SELECT s.id, COALESCE(sb.staff_hold, false) AS staff_hold FROM servers s LEFT JOIN server_billing sb ON sb.server_id = s.id
          WHERE s.tenant_id = $1 AND s.deleted_at IS NULL AND s.state NOT IN ('deleted', 'deleting') ORDER BY s.id`,
        [tenantId],
      );
      const toHold = servers.filter((s) => !s.staff_hold).map((s) => s.id);
      const alreadyHeld = servers.filter((s) => s.staff_hold).map((s) => s.id);
      for (const id of toHold) await this.billing.applyStaffHold(m, actor, id, true, tenantHoldReason(reason));
      await this.audit.record(m, {
        tenantId, actorUserId: actor.userId, actorKind: 'staff', action: 'tenant.suspend', targetType: 'tenant', targetId: tenantId, ip: actor.ip,
        details: { reason, heldServers: toHold, alreadyHeld },
      });
      return { serverIds: toHold, alreadyHeld };
    });
    await this.reconcileAll(result.serverIds);
    return result;
  }

  async unsuspend(actor: Actor, tenantId: string, reason: string): Promise<TenantSuspensionResult> {
    const result = await this.ds.transaction(async (m) => {
      const [tenant]: { suspended_at: Date | null; suspended_reason: string | null }[] = await m.query(
        'SELECT suspended_at, suspended_reason FROM tenants WHERE id = $1 FOR UPDATE',
        [tenantId],
      );
      if (!tenant) throw notFound(tenantId);
      if (!tenant.suspended_at) throw new TenantError('tenant_not_suspended', 'The tenant is not suspended; nothing to lift.');
      // Only the holds this suspension placed: a hold staff put on (or re-reasoned for) one server stays.
      const held: { server_id: string }[] = await m.query(
        `SELECT sb.server_id FROM server_billing sb JOIN servers s ON s.id = sb.server_id
          WHERE sb.tenant_id = $1 AND sb.staff_hold AND sb.staff_hold_reason = $2 AND s.state <> 'deleted' ORDER BY sb.server_id`,
        [tenantId, tenantHoldReason(tenant.suspended_reason ?? '')],
      );
      await m.query('UPDATE tenants SET suspended_at = NULL, suspended_reason = NULL WHERE id = $1', [tenantId]);
      const ids = held.map((r) => r.server_id);
      for (const id of ids) await this.billing.applyStaffHold(m, actor, id, false, `Tenant unsuspended: ${reason}`);
      await this.audit.record(m, {
        tenantId, actorUserId: actor.userId, actorKind: 'staff', action: 'tenant.unsuspend', targetType: 'tenant', targetId: tenantId, ip: actor.ip,
        details: { reason, releasedServers: ids, suspendedAt: tenant.suspended_at.toISOString(), suspendedReason: tenant.suspended_reason },
      });
      return { serverIds: ids, alreadyHeld: [] };
    });
    await this.reconcileAll(result.serverIds);
    return result;
  }

  /** Act on the servers now; a server busy with a task is left to the billing worker's sweep, which retries. */
  private async reconcileAll(ids: string[]): Promise<void> {
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id; id = queue.shift()) await this.reconciler.reconcile(id);
    };
    await Promise.all(Array.from({ length: Math.min(RECONCILE_CONCURRENCY, queue.length) }, worker));
  }
}

const notFound = (id: string) => new TenantError('tenant_not_found', `No tenant with id ${id}.`);
