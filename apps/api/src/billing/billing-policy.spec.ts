import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideBillingAction, mergePastDueSince, type BillingFacts } from './billing-policy.js';

const P = { graceHours: 72, retentionDays: 14 };
const NOW = new Date('2026-11-23T12:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000);
const base: BillingFacts = {
  serverState: 'running', fulfilment: 'provisioned', paidAt: hoursAgo(1000), subscriptionId: 'sub_1', subscriptionStatus: 'active',
  pastDueSince: null, subscriptionEndedAt: null, staffHold: false, suspendedFrom: null,
};
const decide = (f: Partial<BillingFacts>) => decideBillingAction({ ...base, ...f }, NOW, P);

test('an unpaid order waits; a paid one (checkout or active subscription, whichever came first) is fulfilled', () => {
  assert.deepEqual(decide({ serverState: 'pending_payment', fulfilment: 'pending', paidAt: null, subscriptionStatus: null }), { kind: 'none' });
  assert.deepEqual(decide({ serverState: 'pending_payment', fulfilment: 'pending', paidAt: NOW, subscriptionStatus: null }), { kind: 'fulfil' });
  assert.deepEqual(decide({ serverState: 'pending_payment', fulfilment: 'pending', paidAt: null, subscriptionStatus: 'active' }), { kind: 'fulfil' });
  assert.deepEqual(decide({ serverState: 'pending_payment', fulfilment: 'pending', paidAt: null, subscriptionStatus: 'incomplete' }), { kind: 'none' });
});

test('past due: nothing within the grace period, suspended after it, restored to what it was once paid', () => {
  assert.deepEqual(decide({ subscriptionStatus: 'past_due', pastDueSince: hoursAgo(71) }), { kind: 'none' });
  assert.deepEqual(decide({ subscriptionStatus: 'past_due', pastDueSince: hoursAgo(72) }), { kind: 'suspend', reason: 'payment overdue past the grace period', from: 'running' });
  assert.deepEqual(decide({ serverState: 'stopped', subscriptionStatus: 'unpaid', pastDueSince: hoursAgo(100) }).kind, 'suspend');
  assert.deepEqual(decide({ serverState: 'suspended', subscriptionStatus: 'past_due', pastDueSince: hoursAgo(100) }), { kind: 'none' });
  assert.deepEqual(decide({ serverState: 'suspended', suspendedFrom: 'running' }), { kind: 'unsuspend', to: 'running' });
  assert.deepEqual(decide({ serverState: 'suspended', suspendedFrom: 'stopped' }), { kind: 'unsuspend', to: 'stopped' });
  assert.deepEqual(decide({ serverState: 'starting', subscriptionStatus: 'past_due', pastDueSince: hoursAgo(100) }), { kind: 'none' }, 'waits for the task');
});

test('a staff hold suspends whatever the payment state, and payment does not lift it', () => {
  assert.equal(decide({ staffHold: true }).kind, 'suspend');
  assert.deepEqual(decide({ staffHold: true, serverState: 'suspended', suspendedFrom: 'running' }), { kind: 'none' });
  assert.equal(decide({ staffHold: true, fulfilment: 'none', subscriptionId: null, subscriptionStatus: null, paidAt: null }).kind, 'suspend');
});

test('an ended subscription suspends at once and terminates after the retention period', () => {
  assert.equal(decide({ subscriptionStatus: 'canceled', subscriptionEndedAt: hoursAgo(1) }).kind, 'suspend');
  assert.deepEqual(decide({ serverState: 'suspended', subscriptionStatus: 'canceled', subscriptionEndedAt: hoursAgo(14 * 24 - 1) }), { kind: 'none' });
  assert.deepEqual(decide({ serverState: 'suspended', subscriptionStatus: 'canceled', subscriptionEndedAt: hoursAgo(14 * 24) }), { kind: 'terminate' });
});

test('a deleted server stops its live subscription, once', () => {
  assert.deepEqual(decide({ serverState: 'deleted' }), { kind: 'cancel_subscription', reason: 'server deleted' });
  assert.deepEqual(decide({ serverState: 'deleting', subscriptionStatus: 'canceled', subscriptionEndedAt: NOW }), { kind: 'none' });
  assert.deepEqual(decide({ serverState: 'deleted', subscriptionId: null, fulfilment: 'none' }), { kind: 'none' });
});

test('past-due time keeps the earliest failure while past due and clears once paid', () => {
  assert.equal(mergePastDueSince('active', hoursAgo(5), NOW), null);
  assert.deepEqual(mergePastDueSince('past_due', null, hoursAgo(2)), hoursAgo(2));
  assert.deepEqual(mergePastDueSince('past_due', hoursAgo(5), hoursAgo(2)), hoursAgo(5));
  assert.deepEqual(mergePastDueSince('unpaid', hoursAgo(1), hoursAgo(3)), hoursAgo(3));
});
