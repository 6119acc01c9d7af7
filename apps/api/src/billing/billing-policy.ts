import type { ServerState } from '@oblako/contracts';

/**
 * The pure rules by which servers follow the money. The reconciler loads the facts, asks
 * `decideBillingAction`, and carries the answer out; the same facts always give the same answer,
 * which is what makes duplicate, late and reordered events harmless.
 */
export interface BillingFacts {
  serverState: ServerState;
  /** pending: waiting for payment; provisioned; failed (paid, could not be placed); void (paid after delete); none (no order, e.g. billing off) */
  fulfilment: string;
  paidAt: Date | null;
  subscriptionId: string | null;
  /** Mirrored from Stripe's newest subscription object. */
  subscriptionStatus: string | null;
  pastDueSince: Date | null;
  subscriptionEndedAt: Date | null;
  staffHold: boolean;
  /** The state the server was in when it was suspended (to restore it). */
  suspendedFrom: ServerState | null;
}

export interface BillingPolicy {
  graceHours: number;
  retentionDays: number;
}

export type BillingDecision =
  | { kind: 'none' }
  | { kind: 'fulfil' }
  | { kind: 'cancel_subscription'; reason: string }
  | { kind: 'terminate' }
  | { kind: 'suspend'; reason: string; from: 'running' | 'stopped' }
  | { kind: 'unsuspend'; to: 'running' | 'stopped' };

const PAID_STATUSES = ['active', 'trialing'];
const PAST_DUE_STATUSES = ['past_due', 'unpaid'];

export function isPaid(f: Pick<BillingFacts, 'paidAt' | 'subscriptionStatus'>): boolean {
  return f.paidAt !== null || PAID_STATUSES.includes(f.subscriptionStatus ?? '');
}

/** Why the server must be suspended now, or null. */
export function holdReason(f: BillingFacts, now: Date, p: BillingPolicy): string | null {
  if (f.staffHold) return 'staff hold';
  if (f.subscriptionEndedAt) return 'subscription ended';
  if (PAST_DUE_STATUSES.includes(f.subscriptionStatus ?? '') && f.pastDueSince && f.pastDueSince.getTime() + p.graceHours * 3600_000 <= now.getTime()) {
    return 'payment overdue past the grace period';
  }
  return null;
}

export function decideBillingAction(f: BillingFacts, now: Date, p: BillingPolicy): BillingDecision {
  if (f.fulfilment === 'pending') return isPaid(f) ? { kind: 'fulfil' } : { kind: 'none' };
  if (f.serverState === 'deleted' || f.serverState === 'deleting') {
    return f.subscriptionId && !f.subscriptionEndedAt ? { kind: 'cancel_subscription', reason: 'server deleted' } : { kind: 'none' };
  }
  if (f.subscriptionEndedAt && f.subscriptionEndedAt.getTime() + p.retentionDays * 86_400_000 <= now.getTime()) return { kind: 'terminate' };
  const reason = holdReason(f, now, p);
  if (reason && (f.serverState === 'running' || f.serverState === 'stopped')) return { kind: 'suspend', reason, from: f.serverState };
  if (!reason && f.serverState === 'suspended') return { kind: 'unsuspend', to: f.suspendedFrom === 'stopped' ? 'stopped' : 'running' };
  return { kind: 'none' };
}

/**
 * When the subscription counts as past due from: the earliest failure seen while it stays past due
 * (the event time of invoice.payment_failed, else when we first saw the status); null once paid.
 */
export function mergePastDueSince(status: string, existing: Date | null, candidate: Date): Date | null {
  if (!PAST_DUE_STATUSES.includes(status)) return null;
  return existing && existing < candidate ? existing : candidate;
}

/** TypeORM's query() answers an UPDATE or DELETE with [rows, affected count]. */
export function affectedRows(result: unknown): number {
  return Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number' ? result[1] : 0;
}
