import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ServerState } from '@oblako/contracts';
import type Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import { nowMs } from '../common/clock.js';
import { DomainError } from '../common/domain-error.js';
import { SYSTEM_ACTOR } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { OperationRefused, TaskRunner } from '../operations/task-runner.service.js';
import { ServerOrdersService } from '../servers/server-orders.service.js';
import { BillingClock } from './billing.clock.js';
import { HourlyMeterService } from './hourly-meter.service.js';
import { HourlySubscriptionService } from './hourly-subscription.service.js';
import { affectedRows, decideBillingAction, type BillingFacts } from './billing-policy.js';
import { STRIPE } from './stripe.client.js';

const CAPACITY_CODES = ['no_capacity', 'no_node_available', 'no_ip_available'];

interface Row {
  server_id: string; tenant_id: string; state: ServerState; fulfilment: string; paid_at: Date | null; subscription_status: string | null;
  stripe_subscription_id: string | null; past_due_since: Date | null; subscription_ended_at: Date | null; staff_hold: boolean; suspended_from: ServerState | null;
}

/**
 * Makes each server follow the mirrored billing state. Idempotent and driven by state only, so it
 * can run after every event, on a timer (grace and retention expire with time), and again after a
 * crash:
 * Every change of a server goes through the operations' runner, as the `system` actor (audited as such):
 * - paid and still `pending_payment` → placed through ServerOrdersService.provisionPaid (exactly once:
 *   that call only acts on a `pending_payment` server under its row lock). No capacity → the server
 *   goes to `error` with the reason in a failed create task, the subscription is cancelled at once and
 *   staff see `fulfilment = failed` (refund by hand; see the billing README).
 * - hold = staff hold, or past due for longer than the grace period, or subscription ended → suspend
 *   (the node stops it; the customer cannot start it). No hold any more → unsuspend, starting it only
 *   if it was running before.
 * - subscription ended longer than the retention period ago → delete through the normal delete task.
 */
@Injectable()
export class BillingReconciler {
  private readonly logger = new Logger('BillingReconciler');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BillingClock) private readonly clock: BillingClock,
    @Inject(ServerOrdersService) private readonly orders: ServerOrdersService,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(HourlyMeterService) private readonly meter: HourlyMeterService,
    @Inject(HourlySubscriptionService) private readonly hourly: HourlySubscriptionService,
  ) {}

  /** Every server whose billing state may ask for an action now. */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    const graceStart = new Date(now.getTime() - this.config.billing.graceHours * 3600_000);
    const rows: { server_id: string }[] = await this.ds.query(
      `SELECT sb.server_id FROM server_billing sb JOIN servers s ON s.id = sb.server_id
        WHERE (sb.fulfilment = 'pending' AND (sb.paid_at IS NOT NULL OR sb.subscription_status IN ('active', 'trialing')))
           OR (s.state IN ('deleted', 'deleting') AND sb.stripe_subscription_id IS NOT NULL AND sb.subscription_ended_at IS NULL)
           OR (s.state NOT IN ('deleted', 'deleting') AND (
                 sb.staff_hold OR s.state = 'suspended' OR sb.subscription_ended_at IS NOT NULL
                 OR (sb.subscription_status IN ('past_due', 'unpaid') AND sb.past_due_since <= $1)))
        ORDER BY sb.updated_at LIMIT 500`,
      [graceStart],
    );
    for (const r of rows) await this.reconcile(r.server_id);
  }

  async reconcile(serverId: string): Promise<void> {
    try {
      await this.reconcileOnce(serverId);
    } catch (err) {
      // A transient state (a task is running) or a Stripe hiccup: the next sweep tries again.
      const msg = err instanceof DomainError ? `${err.code}: ${err.message}` : (err as Error).message;
      this.logger.debug?.(`Server ${serverId} not reconciled yet: ${msg}`);
    }
  }

  private async load(serverId: string): Promise<Row | undefined> {
    const [row]: Row[] = await this.ds.query(
      `SELECT sb.server_id, sb.tenant_id, s.state, sb.fulfilment, sb.paid_at, sb.subscription_status, sb.stripe_subscription_id, sb.past_due_since,
              sb.subscription_ended_at, sb.staff_hold, sb.suspended_from
         FROM server_billing sb JOIN servers s ON s.id = sb.server_id AND s.tenant_id = sb.tenant_id
        WHERE sb.server_id = $1`,
      [serverId],
    );
    return row;
  }

  private facts(row: Row): BillingFacts {
    return {
      serverState: row.state, fulfilment: row.fulfilment, paidAt: row.paid_at, subscriptionId: row.stripe_subscription_id, subscriptionStatus: row.subscription_status,
      pastDueSince: row.past_due_since, subscriptionEndedAt: row.subscription_ended_at, staffHold: row.staff_hold, suspendedFrom: row.suspended_from,
    };
  }

  private async reconcileOnce(serverId: string, depth = 0): Promise<void> {
    const row = await this.load(serverId);
    if (!row) return;
    const decision = decideBillingAction(this.facts(row), this.clock.now(), this.config.billing);
    switch (decision.kind) {
      case 'none':
        return;
      case 'fulfil':
        await this.fulfil(row);
        // Placed: the same facts may now ask for more (e.g. a payment failure that arrived meanwhile).
        if (depth === 0) await this.reconcileOnce(serverId, 1);
        return;
      case 'cancel_subscription': {
        const done = await this.cancelSubscriptionNow(row);
        if (done === 'cancelled') await this.note(row, 'billing.cancel', { reason: decision.reason, subscriptionId: row.stripe_subscription_id, atPeriodEnd: false });
        if (done === 'detached') await this.note(row, 'billing.meter_stopped', { reason: decision.reason, subscriptionId: row.stripe_subscription_id, kept: 'other hourly servers use the subscription' });
        return;
      }
      case 'terminate':
        await this.runner.run({ serverId, tenantId: row.tenant_id }, 'delete', SYSTEM_ACTOR, undefined, nowMs());
        await this.note(row, 'billing.terminate', { reason: 'subscription ended and the retention period passed', endedAt: row.subscription_ended_at?.toISOString() });
        return;
      case 'suspend':
        await this.runner.run({ serverId, tenantId: row.tenant_id }, 'suspend', SYSTEM_ACTOR, undefined, nowMs());
        await this.ds.query('UPDATE server_billing SET suspended_from = $2, updated_at = now() WHERE server_id = $1', [serverId, decision.from]);
        await this.note(row, 'billing.suspend', { reason: decision.reason, from: decision.from });
        return;
      case 'unsuspend':
        if (decision.to === 'running') await this.runner.run({ serverId, tenantId: row.tenant_id }, 'unsuspend', SYSTEM_ACTOR, { start: true }, nowMs());
        else if (!(await this.releaseStopped(row))) return;
        await this.ds.query('UPDATE server_billing SET suspended_from = NULL, updated_at = now() WHERE server_id = $1', [serverId]);
        await this.note(row, 'billing.unsuspend', { to: decision.to });
        return;
    }
  }

  /** Place a paid order; on no capacity, fail it visibly and stop charging. */
  private async fulfil(row: Row): Promise<void> {
    if (row.state === 'pending_payment') {
      try {
        await this.orders.provisionPaid(row.server_id);
      } catch (err) {
        if (err instanceof DomainError && CAPACITY_CODES.includes(err.code)) {
          await this.failOrder(row, err.message);
          return;
        }
        throw err;
      }
      const after = await this.load(row.server_id);
      if (after && after.state !== 'pending_payment') {
        await this.ds.query(`UPDATE server_billing SET fulfilment = 'provisioned', updated_at = now() WHERE server_id = $1 AND fulfilment = 'pending'`, [row.server_id]);
      }
      return;
    }
    if (row.state === 'deleted' || row.state === 'deleting') {
      // Paid after the customer deleted the order: nothing to provision; stop the subscription (once, whoever gets here first).
      const claimed = await this.ds.query(
        `UPDATE server_billing SET fulfilment = 'void', fulfilment_error = $2, updated_at = now() WHERE server_id = $1 AND fulfilment = 'pending' RETURNING server_id`,
        [row.server_id, 'paid after the order was deleted'],
      );
      if (!affectedRows(claimed)) return;
      await this.cancelSubscriptionNow(row);
      await this.note(row, 'billing.refund_required', { reason: 'paid after the order was deleted; subscription cancelled' });
      return;
    }
    await this.ds.query(`UPDATE server_billing SET fulfilment = 'provisioned', updated_at = now() WHERE server_id = $1 AND fulfilment = 'pending'`, [row.server_id]);
  }

  private async failOrder(row: Row, reason: string): Promise<void> {
    const announce = await this.ds.transaction(async (m) => {
      // pending_payment → provisioning → error through the runner: a failed create task carries the reason for the customer.
      const done = await this.orders.failPaid(m, row.server_id, reason);
      if (!done) return null;
      await m.query(`UPDATE server_billing SET fulfilment = 'failed', fulfilment_error = $2, updated_at = now() WHERE server_id = $1`, [row.server_id, reason]);
      await this.audit.record(m, {
        tenantId: row.tenant_id, actorUserId: null, actorKind: 'system', action: 'billing.fulfilment_failed', targetType: 'server', targetId: row.server_id, ip: null,
        details: { reason, subscriptionId: row.stripe_subscription_id, refund: 'required (staff)' },
      });
      return done;
    });
    if (announce) {
      announce();
      await this.cancelSubscriptionNow(row);
    }
  }

  /**
   * Cancel at once and mirror the result (customer.subscription.deleted follows and changes nothing more). An hourly
   * server whose subscription other hourly servers of the tenant still use is only detached: its meter stops and its
   * billing ends, the subscription goes on. Returns what this call recorded (so concurrent reconcilers audit it once).
   */
  private async cancelSubscriptionNow(row: Row): Promise<'cancelled' | 'detached' | false> {
    if (!this.stripe || !row.stripe_subscription_id) return false;
    try {
      // An hourly server's meter stops first (its started hour billed whole, reported at once); `invoice_now` then
      // invoices the period's hours now instead of dropping them with the subscription.
      const metered = await this.meter.stop(row.server_id);
      // Checked after this server's meter stopped: of two servers deleted at once, the later check sees both stopped and cancels.
      if (metered && (await this.hourly.sharedWithOthers(row.stripe_subscription_id, row.server_id))) {
        const detached = await this.ds.query(
          `UPDATE server_billing SET subscription_ended_at = meter_stopped_at, updated_at = now() WHERE server_id = $1 AND subscription_ended_at IS NULL RETURNING server_id`,
          [row.server_id],
        );
        return affectedRows(detached) > 0 ? 'detached' : false;
      }
      if (metered) {
        const unreported = await this.meter.unreportedOf(row.stripe_subscription_id);
        if (unreported > 0) {
          // invoice_now bills only what Stripe has: the cancellation waits for the hours (retried on every sweep)
          this.logger.warn(`Subscription ${row.stripe_subscription_id} is cancelled once Stripe has its ${unreported} unreported hour(s) (retried on the next sweep)`);
          return false;
        }
      }
      // Written before the call: the `customer.subscription.deleted` this cancel causes must not read as Stripe ending it
      // by itself (whose hours the meter sweep bills as invoice items): invoice_now bills them here.
      if (metered) {
        await this.ds.query(
          `INSERT INTO billing_hourly_ends (stripe_subscription_id, tenant_id, how) VALUES ($1, $2, 'invoice_now') ON CONFLICT (stripe_subscription_id) DO NOTHING`,
          [row.stripe_subscription_id, row.tenant_id],
        );
      }
      // Cancelling an already cancelled subscription is an error at Stripe: then read its state instead.
      const sub = await this.stripe.subscriptions.cancel(row.stripe_subscription_id, metered ? { invoice_now: true } : undefined).catch(() => this.stripe!.subscriptions.retrieve(row.stripe_subscription_id!));
      if (sub.status !== 'canceled' && sub.status !== 'incomplete_expired') return false;
      const ended = await this.ds.query(
        `UPDATE server_billing SET subscription_status = $2, subscription_ended_at = $3, updated_at = now()
          WHERE server_id = $1 AND subscription_ended_at IS NULL RETURNING server_id`,
        [row.server_id, sub.status, new Date((sub.ended_at ?? Math.floor(this.clock.now().getTime() / 1000)) * 1000)],
      );
      return affectedRows(ended) > 0 ? 'cancelled' : false;
    } catch (err) {
      this.logger.warn(`Cancelling subscription of server ${row.server_id} failed: ${(err as Error).message}`);
      return false;
    }
  }

  /** Unsuspend a server that was stopped when it was suspended: nothing runs on the node, so it simply becomes stopped again. */
  private async releaseStopped(row: Row): Promise<boolean> {
    try {
      await this.runner.run({ serverId: row.server_id, tenantId: row.tenant_id }, 'unsuspend', SYSTEM_ACTOR, { start: false }, nowMs());
      return true;
    } catch (err) {
      if (err instanceof OperationRefused) return false; // not suspended any more, or a task is running: the next sweep looks again
      throw err;
    }
  }

  private async note(row: Row, action: string, details: Record<string, unknown>): Promise<void> {
    await this.audit.record(this.ds.manager, { tenantId: row.tenant_id, actorUserId: null, actorKind: 'system', action, targetType: 'server', targetId: row.server_id, ip: null, details });
  }
}
