import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { startApi, type RunningApi } from '../../src/app.js';
import { BillingWorker } from '../../src/billing/billing-worker.service.js';
import { startBillingStack, type BillingStack } from '../support/billing-stack.js';

const GRACE_HOURS = 48;
const RETENTION_DAYS = 7;
const HOUR = 3600_000;

let stack: BillingStack;
let h: BillingStack['h'];
let stripe: BillingStack['stripe'];
let clock: BillingStack['clock'];
let node: BillingStack['node'];
let worker: BillingStack['worker'];
let admin: string;
let replica: RunningApi | null = null;
let deliverAll: BillingStack['deliverAll'];

before(async () => {
  stack = await startBillingStack({
    BILLING_GRACE_HOURS: String(GRACE_HOURS), BILLING_RETENTION_DAYS: String(RETENTION_DAYS), BILLING_POLL_MS: '200', BILLING_RETURN_URL: 'https://panel.test',
  });
  ({ h, node, stripe, clock, worker, admin, deliverAll } = stack);
});
after(async () => {
  await replica?.close();
  await stack?.close();
});

async function order(token: string, hostname: string) {
  const r = await h.http('POST', '/api/v1/servers', {
    token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** Run the worker until the inbox is empty and the reconciler has swept once. */
async function settle() {
  await worker.drain(true);
  await worker.drain(true);
}

async function state(token: string, id: string): Promise<string> {
  return (await h.http('GET', `/api/v1/servers/${id}`, { token })).body.state;
}

const waitState = (token: string, id: string, want: string) => stack.waitState(token, id, want);

async function createTasks(serverId: string): Promise<number> {
  const [r] = await h.ds.query(`SELECT count(*)::int AS n FROM tasks WHERE server_id = $1 AND op = 'create'`, [serverId]);
  return r.n;
}

function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Order and pay one server; returns it running with its subscription id. */
async function paidServer(token: string, hostname: string) {
  const s = await order(token, hostname);
  const session = stripe.sessionFor(s.id)!;
  await deliverAll(stripe.completeCheckout(session.id));
  await waitState(token, s.id, 'running');
  return { id: s.id as string, subId: stripe.subscriptionFor(s.id)!.id as string };
}

describe('billing with Stripe (Stripe-compatible test server, real SDK, real PostgreSQL and NATS)', () => {
  test('billing is on: status and health say so', async () => {
    const s = await h.http('GET', '/api/v1/billing/status');
    assert.deepEqual(s.body, { billing: 'on', graceHours: GRACE_HOURS, retentionDays: RETENTION_DAYS });
    assert.equal((await h.http('GET', '/health')).body.billing, 'on');
  });

  test('staff plan changes create a Stripe product and price; a new price archives the old one', async () => {
    const created = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Billing Plan', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceMonthlyCents: 500 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const [row] = await h.ds.query('SELECT * FROM billing_plan_prices WHERE plan_id = $1', [created.body.id]);
    assert.ok(row, 'price mirrored');
    assert.equal(stripe.products.get(row.stripe_product_id)!.name, 'Billing Plan');
    assert.equal(stripe.prices.get(row.stripe_price_id)!.unit_amount, 500);
    const changed = await h.http('PATCH', `/api/v1/admin/plans/${created.body.id}`, { token: admin, body: { priceMonthlyCents: 700, name: 'Billing Plan 2' } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const [row2] = await h.ds.query('SELECT * FROM billing_plan_prices WHERE plan_id = $1', [created.body.id]);
    assert.notEqual(row2.stripe_price_id, row.stripe_price_id);
    assert.equal(stripe.prices.get(row2.stripe_price_id)!.unit_amount, 700);
    assert.equal(stripe.prices.get(row.stripe_price_id)!.active, false, 'old price archived');
    assert.equal(stripe.products.get(row.stripe_product_id)!.name, 'Billing Plan 2');
  });

  test('happy path: order → Checkout URL, pending_payment → paid → provisioned once → running; invoice and subscription mirrored', async () => {
    const a = await h.register('pay');
    const s = await order(a.token, 'paid-1.example.com');
    assert.equal(s.state, 'pending_payment');
    assert.match(s.checkoutUrl, new RegExp(`^${stripe.url}/pay/cs_test_`));
    const session = stripe.sessionFor(s.id)!;
    assert.deepEqual(Object.keys(session.metadata).sort(), ['orderKey', 'serverId', 'tenantId']);
    assert.equal(session.metadata.tenantId, a.tenantId);
    assert.equal(session.success_url, `https://panel.test/servers/${s.id}?checkout=success`);
    assert.equal(await createTasks(s.id), 0, 'nothing placed before payment');

    // A second order of the same tenant reuses its one Stripe customer (and the plan's mirrored price, without calling Stripe for it).
    const catalogueCalls = () => stripe.requests.filter((r) => /^\/v1\/(products|prices)/.test(r.path)).length;
    const before = catalogueCalls();
    const s2 = await order(a.token, 'paid-2.example.com');
    assert.equal(catalogueCalls(), before);
    assert.equal(stripe.sessionFor(s2.id)!.customer, session.customer);
    const [t] = await h.ds.query('SELECT stripe_customer_id FROM tenants WHERE id = $1', [a.tenantId]);
    assert.equal(t.stripe_customer_id, session.customer);
    assert.equal([...stripe.customers.values()].filter((c) => c.metadata.tenantId === a.tenantId).length, 1);
    // A retried order (same Idempotency-Key) answers with the same server and the same Checkout URL.
    const body = { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'paid-3.example.com' };
    const first = await h.http('POST', '/api/v1/servers', { token: a.token, body, headers: { 'idempotency-key': `order-${a.tenantId}` } });
    const retry = await h.http('POST', '/api/v1/servers', { token: a.token, body, headers: { 'idempotency-key': `order-${a.tenantId}` } });
    assert.equal(retry.body.id, first.body.id);
    assert.ok(first.body.checkoutUrl);
    assert.equal(retry.body.checkoutUrl, first.body.checkoutUrl);
    // Asking again for the checkout link gives the same session.
    const again = await h.http('POST', `/api/v1/billing/servers/${s.id}/checkout`, { token: a.token });
    assert.equal(again.body.checkoutUrl, s.checkoutUrl);

    // The session expires unpaid: the next link is a new session, which the customer pays.
    await deliverAll(stripe.expireSession(session.id));
    await settle();
    const fresh = await h.http('POST', `/api/v1/billing/servers/${s.id}/checkout`, { token: a.token });
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    assert.notEqual(fresh.body.checkoutUrl, s.checkoutUrl);
    const session2 = [...stripe.sessions.values()].find((x) => x.url === fresh.body.checkoutUrl)!;
    assert.equal(session2.metadata.orderKey, session.metadata.orderKey, 'same order, new session');
    assert.equal(await state(a.token, s.id), 'pending_payment');

    await deliverAll(stripe.completeCheckout(session2.id));
    const running = await waitState(a.token, s.id, 'running');
    assert.equal(running.addresses.length, 1);
    assert.equal(await createTasks(s.id), 1);
    assert.equal(await state(a.token, s2.id), 'pending_payment', 'the other order is untouched');

    const subs = await h.http('GET', '/api/v1/billing/subscriptions', { token: a.token });
    const sub = subs.body.find((x: { serverId: string }) => x.serverId === s.id);
    assert.equal(sub.status, 'active');
    assert.equal(sub.order, 'provisioned');
    const pending = subs.body.find((x: { serverId: string }) => x.serverId === s2.id);
    assert.equal(pending.order, 'pending');
    assert.equal(pending.checkoutUrl, s2.checkoutUrl);
    const invoices = await h.http('GET', '/api/v1/billing/invoices', { token: a.token });
    assert.equal(invoices.body.length, 1);
    assert.equal(invoices.body[0].status, 'paid');
    assert.equal(invoices.body[0].serverId, s.id);

    const portal = await h.http('POST', '/api/v1/billing/portal', { token: a.token });
    assert.equal(portal.status, 200, JSON.stringify(portal.body));
    assert.match(portal.body.url, new RegExp(`^${stripe.url}/portal/`));
    assert.equal(stripe.portalSessions.at(-1)!.customer, session.customer);
  });

  test('every event of a scenario delivered three times, shuffled (invoice before checkout, failure after recovery), to two API replicas → same end state, one server', async () => {
    // A second API process on the same database and NATS (closed in after(): closing one of two apps in one process disturbs the other).
    replica = await startApi(h.config, { logger: false });
    const replicaWorker = replica.app.get(BillingWorker);
    const b = await h.register('shuffle');
    const s = await order(b.token, 'shuffle.example.com');
    const session = stripe.sessionFor(s.id)!;
    const events = [...stripe.completeCheckout(session.id)];
    const subId = stripe.subscriptionFor(s.id)!.id;
    events.push(...stripe.failPayment(subId), ...stripe.payOpenInvoice(subId));
    const deliveries = [...[...events].reverse(), ...shuffle(events, 7), ...shuffle(events, 99)];
    const answers = await Promise.all(deliveries.map((e, i) => stripe.deliver(i % 2 ? replica!.url : h.url, e)));
    assert.ok(answers.every((r) => r.status === 200), JSON.stringify(answers.filter((r) => r.status !== 200)));
    assert.equal(answers.filter((r) => !r.body.duplicate).length, events.length, 'each event id stored once');
    await Promise.all([settle(), replicaWorker.drain(true)]);
    await waitState(b.token, s.id, 'running');
    await Promise.all([settle(), replicaWorker.drain(true)]);
    await replicaWorker.stop(); // its clock is not the one the later tests move
    assert.equal(await createTasks(s.id), 1, 'exactly one create task');
    // Every event takes effect, even one whose first attempt failed and waits out its (short) backoff.
    const mine = `(payload->'data'->'object')::text LIKE '%' || $1 || '%'`;
    const counts = await waitFor('every event of the scenario to be processed', async () => {
      await worker.drain(true);
      const [c] = await h.ds.query(`SELECT count(*)::int AS n, count(processed_at)::int AS done FROM billing_events WHERE ${mine}`, [s.id]);
      return c.done === events.length ? c : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 }).catch(async (err) => {
      const open = await h.ds.query(`SELECT type, attempts, last_error, next_attempt_at FROM billing_events WHERE processed_at IS NULL AND ${mine}`, [s.id]);
      throw new Error(`${(err as Error).message}; unprocessed: ${JSON.stringify(open)}`);
    });
    assert.equal(counts.n, events.length);
    const retried = await h.ds.query(`SELECT type, attempts, last_error FROM billing_events WHERE attempts > 1 AND ${mine}`, [s.id]);
    if (retried.length) console.log(`# events that needed a retry: ${JSON.stringify(retried)}`);
    const sub = (await h.http('GET', `/api/v1/billing/subscriptions/${s.id}`, { token: b.token })).body;
    assert.equal(sub.status, 'active');
    assert.equal(sub.pastDueSince, null);
    const invoices = (await h.http('GET', '/api/v1/billing/invoices', { token: b.token })).body;
    assert.deepEqual(invoices.map((i: { status: string }) => i.status), ['paid', 'paid']);
    assert.equal(await state(b.token, s.id), 'running');
  });

  test('a crash after the 200 loses nothing: stored events are processed when a worker runs again', async () => {
    const w = await h.register('crash');
    const s = await order(w.token, 'crash.example.com');
    await worker.stop();
    try {
      await deliverAll(stripe.completeCheckout(stripe.sessionFor(s.id)!.id));
      const [pending] = await h.ds.query(`SELECT count(*)::int AS n FROM billing_events WHERE processed_at IS NULL`);
      assert.equal(pending.n, 3, 'answered 200 and stored, not yet applied');
      assert.equal(await state(w.token, s.id), 'pending_payment');
    } finally {
      worker.start();
    }
    await waitState(w.token, s.id, 'running');
    assert.equal(await createTasks(s.id), 1);
  });

  test('a Stripe outage while applying an event: it is retried with backoff and applied once Stripe answers', async () => {
    const o = await h.register('outage');
    const s = await order(o.token, 'outage.example.com');
    const events = stripe.completeCheckout(stripe.sessionFor(s.id)!.id);
    // Stripe is down until this test says otherwise: a counted outage (the next N requests) could be used up by
    // the running worker's background sweeps before the event is applied, and the event then went through at once.
    stripe.outage = Number.POSITIVE_INFINITY;
    try {
      await deliverAll(events);
      await settle();
      const [failed] = await h.ds.query(`SELECT count(*)::int AS n FROM billing_events WHERE processed_at IS NULL AND attempts > 0 AND last_error IS NOT NULL`);
      assert.ok(failed.n >= 1, 'an event is waiting for its retry');
      const inbox = await h.http('GET', '/api/v1/admin/billing/events', { token: admin });
      assert.ok(inbox.body.some((e: { lastError: string | null }) => e.lastError), JSON.stringify(inbox.body));
      assert.equal((await h.http('GET', '/api/v1/admin/billing/events', { token: o.token })).status, 403);
      assert.equal(await state(o.token, s.id), 'pending_payment', 'nothing is applied while Stripe is down');
    } finally {
      stripe.outage = 0; // Stripe answers again
    }
    await waitState(o.token, s.id, 'running');
    assert.equal(await createTasks(s.id), 1);
  });

  test('deleting a paid server cancels its subscription', async () => {
    const x = await h.register('delpaid');
    const { id, subId } = await paidServer(x.token, 'delpaid.example.com');
    assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: x.token })).status, 202);
    await waitState(x.token, id, 'deleted');
    await stack.waitCancelled(subId);
    await deliverAll(stripe.outbox.splice(0));
    await settle();
    const sub = (await h.http('GET', `/api/v1/billing/subscriptions/${id}`, { token: x.token })).body;
    assert.equal(sub.status, 'canceled');
  });

  test('an order deleted before its payment arrives is never placed; the subscription is cancelled and flagged for refund', async () => {
    const y = await h.register('lateprice');
    const s = await order(y.token, 'late.example.com');
    assert.equal((await h.http('DELETE', `/api/v1/servers/${s.id}`, { token: y.token })).status, 202);
    assert.equal(await state(y.token, s.id), 'deleted');
    await deliverAll(stripe.completeCheckout(stripe.sessionFor(s.id)!.id));
    await settle();
    assert.equal(await state(y.token, s.id), 'deleted');
    assert.equal(await createTasks(s.id), 0);
    assert.equal(stripe.subscriptionFor(s.id)!.status, 'canceled');
    const [row] = await h.ds.query('SELECT fulfilment FROM server_billing WHERE server_id = $1', [s.id]);
    assert.equal(row.fulfilment, 'void');
    const [audit] = await h.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1 AND action = 'billing.refund_required'`, [s.id]);
    assert.equal(audit.n, 1);
  });

  test('forged, tampered and stale signatures answer 400 and change nothing', async () => {
    const c = await h.register('forge');
    const s = await order(c.token, 'forge.example.com');
    const session = stripe.sessionFor(s.id)!;
    const events = stripe.completeCheckout(session.id);
    const before = await h.count('billing_events');
    const forged = await stripe.deliver(h.url, events[0]!, { secret: 'whsec_not_the_real_one' });
    assert.equal(forged.status, 400);
    assert.equal(forged.body.code, 'invalid_signature');
    assert.equal((await stripe.deliver(h.url, events[0]!, { tamper: true })).status, 400);
    const stale = await stripe.deliver(h.url, events[0]!, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    assert.equal(stale.status, 400);
    const noSig = await fetch(`${h.url}/api/v1/billing/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events[0]) });
    assert.equal(noSig.status, 400);
    assert.equal(await h.count('billing_events'), before);
    await settle();
    assert.equal(await state(c.token, s.id), 'pending_payment');
  });

  test('payment failure → still running within grace → suspended after grace (cannot start) → paid → running again', async () => {
    const d = await h.register('dunning');
    const { id, subId } = await paidServer(d.token, 'dunning.example.com');
    await deliverAll(stripe.failPayment(subId));
    await settle();
    assert.equal(await state(d.token, id), 'running', 'grace period');
    assert.equal((await h.http('GET', `/api/v1/billing/subscriptions/${id}`, { token: d.token })).body.status, 'past_due');

    clock.advance((GRACE_HOURS - 1) * HOUR);
    await settle();
    assert.equal(await state(d.token, id), 'running', 'still within grace');
    clock.advance(2 * HOUR);
    await waitState(d.token, id, 'suspended');
    assert.equal((await h.http('GET', `/api/v1/billing/subscriptions/${id}`, { token: d.token })).body.suspension, 'payment');
    assert.ok(node.received.some((cmd) => cmd.serverId === id && cmd.op === 'suspend'), 'the node was told to stop it');
    const start = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: d.token, body: { action: 'start' } });
    assert.equal(start.status, 409);

    await deliverAll(stripe.payOpenInvoice(subId));
    await waitState(d.token, id, 'running');
    assert.ok(node.received.some((cmd) => cmd.serverId === id && cmd.op === 'unsuspend'));
    const audit = await h.ds.query(`SELECT action FROM audit_log WHERE target_id = $1 AND action LIKE 'billing.%' ORDER BY id`, [id]);
    assert.deepEqual(audit.map((r: { action: string }) => r.action), ['billing.suspend', 'billing.unsuspend']);
  });

  test('a server that was stopped when suspended comes back stopped', async () => {
    const e = await h.register('stopped');
    const { id, subId } = await paidServer(e.token, 'stopped.example.com');
    assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: e.token, body: { action: 'stop' } })).status, 202);
    await waitState(e.token, id, 'stopped');
    await deliverAll(stripe.failPayment(subId));
    clock.advance((GRACE_HOURS + 1) * HOUR);
    await waitState(e.token, id, 'suspended');
    await deliverAll(stripe.payOpenInvoice(subId));
    await waitState(e.token, id, 'stopped');
  });

  test('cancellation at period end → subscription deleted → suspended → terminated after retention, resources released', async () => {
    const f = await h.register('cancel');
    const { id, subId } = await paidServer(f.token, 'cancel.example.com');
    const first = await h.http('POST', `/api/v1/billing/subscriptions/${id}/cancel`, { token: f.token });
    assert.equal(first.body.cancelAtPeriodEnd, true);
    const resumed = await h.http('POST', `/api/v1/billing/subscriptions/${id}/resume`, { token: f.token });
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.cancelAtPeriodEnd, false);
    assert.equal(stripe.subscriptions.get(subId)!.cancel_at_period_end, false);
    const cancel = await h.http('POST', `/api/v1/billing/subscriptions/${id}/cancel`, { token: f.token });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    assert.equal(cancel.body.cancelAtPeriodEnd, true);
    assert.equal(stripe.subscriptions.get(subId)!.cancel_at_period_end, true);
    assert.equal(await state(f.token, id), 'running', 'runs until the period ends');

    await deliverAll([...stripe.outbox.splice(0), ...stripe.endSubscription(subId)]);
    await waitState(f.token, id, 'suspended');
    clock.advance((RETENTION_DAYS * 24 - 1) * HOUR);
    await settle();
    assert.equal(await state(f.token, id), 'suspended', 'kept during retention');
    clock.advance(2 * HOUR);
    await waitState(f.token, id, 'deleted');
    assert.ok(node.received.some((cmd) => cmd.serverId === id && cmd.op === 'delete'), 'deleted through the normal delete task');
    const [ips] = await h.ds.query('SELECT count(*)::int AS n FROM ip_addresses WHERE server_id = $1', [id]);
    assert.equal(ips.n, 0, 'address released');
  });

  test('staff suspend and unsuspend by hand, with a reason, audited; customers cannot', async () => {
    const g = await h.register('staff');
    const { id } = await paidServer(g.token, 'staff.example.com');
    const asCustomer = await h.http('POST', `/api/v1/admin/servers/${id}/suspend`, { token: g.token, body: { reason: 'abuse' } });
    assert.equal(asCustomer.status, 403);
    const noReason = await h.http('POST', `/api/v1/admin/servers/${id}/suspend`, { token: admin, body: {} });
    assert.equal(noReason.status, 400);
    const sus = await h.http('POST', `/api/v1/admin/servers/${id}/suspend`, { token: admin, body: { reason: 'abuse report 42' } });
    assert.equal(sus.status, 200, JSON.stringify(sus.body));
    await waitState(g.token, id, 'suspended');
    assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: g.token, body: { action: 'start' } })).status, 409);
    assert.equal((await h.http('POST', `/api/v1/admin/servers/${id}/unsuspend`, { token: admin, body: { reason: 'resolved' } })).status, 200);
    await waitState(g.token, id, 'running');
    const audit = await h.ds.query(`SELECT action, actor_kind, details FROM audit_log WHERE target_id = $1 AND action LIKE 'server.staff_%' ORDER BY id`, [id]);
    assert.deepEqual(audit.map((r: { action: string }) => r.action), ['server.staff_suspend', 'server.staff_unsuspend']);
    assert.equal(audit[0].details.reason, 'abuse report 42');
  });

  test('no capacity after payment: the server goes to error with the reason, the subscription is cancelled, staff see it', async () => {
    const k = await h.register('nocap');
    const s = await order(k.token, 'nocap.example.com');
    await h.ds.query(`UPDATE nodes SET state = 'maintenance' WHERE id = $1`, [h.seed.nodeId]);
    try {
      await deliverAll(stripe.completeCheckout(stripe.sessionFor(s.id)!.id));
      await waitState(k.token, s.id, 'error');
    } finally {
      await h.ds.query(`UPDATE nodes SET state = 'online' WHERE id = $1`, [h.seed.nodeId]);
    }
    const view = (await h.http('GET', `/api/v1/servers/${s.id}`, { token: k.token })).body;
    assert.match(view.currentTask.error, /capacity/i);
    assert.equal(stripe.subscriptionFor(s.id)!.status, 'canceled');
    const failed = await h.http('GET', '/api/v1/admin/billing/orders?fulfilment=failed', { token: admin });
    assert.ok(failed.body.some((o: { serverId: string }) => o.serverId === s.id));
    await deliverAll(stripe.outbox.splice(0));
    await settle();
    assert.equal(await createTasks(s.id), 1, 'only the failed create record; nothing placed');
  });

  test("another tenant's checkout or server is never affected; reads are tenant-scoped (404)", async () => {
    const a = await h.register('iso-a');
    const b = await h.register('iso-b');
    const sa = await order(a.token, 'iso-a.example.com');
    const sb = await order(b.token, 'iso-b.example.com');
    // A validly signed event naming B's server but A's order key (or another tenant) is rejected.
    const sessionA = stripe.sessionFor(sa.id)!;
    const sessionB = stripe.sessionFor(sb.id)!;
    const forgedSession = { ...sessionA, metadata: { ...sessionA.metadata, serverId: sb.id } };
    const forged = stripe.event('checkout.session.completed', { ...forgedSession, status: 'complete', payment_status: 'paid' });
    assert.equal((await stripe.deliver(h.url, forged)).status, 200);
    await deliverAll(stripe.completeCheckout(sessionA.id));
    await waitState(a.token, sa.id, 'running');
    await settle();
    assert.equal(await state(b.token, sb.id), 'pending_payment');
    assert.equal(sessionB.status, 'open');
    const [rejected] = await h.ds.query(`SELECT outcome FROM billing_events WHERE stripe_event_id = $1`, [forged.id]);
    assert.match(rejected.outcome, /rejected/);

    assert.equal((await h.http('GET', `/api/v1/billing/subscriptions/${sa.id}`, { token: b.token })).status, 404);
    assert.equal((await h.http('POST', `/api/v1/billing/subscriptions/${sa.id}/cancel`, { token: b.token })).status, 404);
    assert.equal((await h.http('POST', `/api/v1/billing/servers/${sa.id}/checkout`, { token: b.token })).status, 404);
    const bInvoices = (await h.http('GET', '/api/v1/billing/invoices', { token: b.token })).body;
    assert.deepEqual(bInvoices, []);
    const bSubs = (await h.http('GET', '/api/v1/billing/subscriptions', { token: b.token })).body;
    assert.deepEqual(bSubs.map((x: { serverId: string }) => x.serverId), [sb.id]);
  });
});
