import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { startBillingStack, type BillingStack } from '../support/billing-stack.js';

let stack: BillingStack;
let h: BillingStack['h'];
let stripe: BillingStack['stripe'];
let worker: BillingStack['worker'];

before(async () => {
  stack = await startBillingStack({ BILLING_POLL_MS: '60000' });
  ({ h, stripe, worker } = stack);
});
after(async () => {
  await stack?.close();
});

const waitState = (token: string, id: string, want: string) => stack.waitState(token, id, want);

test('billing on: a resized server\'s Stripe subscription item moves to the new plan\'s price with proration, once', async () => {
  const a = await h.register('resize-pay');
  const ordered = await h.http('POST', '/api/v1/servers', {
    token: a.token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'paid-resize-1' },
  });
  assert.equal(ordered.status, 201, JSON.stringify(ordered.body));
  const id = ordered.body.id as string;
  await stack.deliverAll(stripe.completeCheckout(stripe.sessionFor(id)!.id));
  await waitState(a.token, id, 'running');
  const sub = stripe.subscriptionFor(id)!;
  const smallPrice = sub.items.data[0].price;
  assert.equal(smallPrice.unit_amount, 500);

  // Stripe is down when the resize ends: the resize still succeeds, the price follows on a later sweep
  stripe.outage = 3;
  const r = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.medium } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await waitState(a.token, id, 'running');
  assert.equal(done.plan.name, 'Medium');
  stripe.outage = 0;

  await waitFor('the subscription to move to the new price', async () => {
    await worker.drain(true);
    return stripe.subscriptionFor(id)!.items.data[0].price.unit_amount === 1500 ? true : undefined;
  }, { timeoutMs: 8000, intervalMs: 50 });
  const [priceRow] = await h.ds.query('SELECT stripe_price_id FROM billing_plan_prices WHERE plan_id = $1', [h.seed.planIds.medium]);
  assert.equal(stripe.subscriptionFor(id)!.items.data[0].price.id, priceRow.stripe_price_id);
  const lines = stripe.prorations.filter((p) => p.subscription === sub.id);
  assert.equal(lines.length, 2, 'a credit for the old price and a charge for the new one');
  assert.equal(lines[0]!.price, smallPrice.id);
  assert.ok(lines[0]!.amount < 0 && lines[0]!.amount >= -500);
  assert.ok(lines[1]!.amount > 0 && lines[1]!.amount <= 1500);
  const [billing] = await h.ds.query('SELECT plan_id, stripe_price_pending FROM server_billing WHERE server_id = $1', [id]);
  assert.deepEqual(billing, { plan_id: h.seed.planIds.medium, stripe_price_pending: false });
  const audit = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'billing.plan_changed'`, [id]);
  assert.equal(audit.length, 1);
  assert.equal(audit[0].details.toPriceId, priceRow.stripe_price_id);

  // more sweeps change nothing
  await worker.drain(true);
  await worker.drain(true);
  assert.equal(stripe.prorations.filter((p) => p.subscription === sub.id).length, 2);
});
