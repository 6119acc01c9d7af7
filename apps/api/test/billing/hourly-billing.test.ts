import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheus, promValue } from '@oblako/testing';
import { startApi, type RunningApi } from '../../src/app.js';
import { BillingClock } from '../../src/billing/billing.clock.js';
import { HourlyMeterService } from '../../src/billing/hourly-meter.service.js';
import { startBillingStack, type BillingStack } from '../support/billing-stack.js';

const HOUR = 3600_000;
const RATE = 7; // cents per hour
const METRICS_TOKEN = 'billing-metrics-token-0123456789';

let s: BillingStack;
let h: BillingStack['h'];
let stripe: BillingStack['stripe'];
let clock: BillingStack['clock'];
let worker: BillingStack['worker'];
let admin: string;
let hourlyPlanId: string;
let replica: RunningApi | null = null;
let deliverAll: BillingStack['deliverAll'];
let waitCancelled: BillingStack['waitCancelled'];
let finalInvoice: BillingStack['finalInvoice'];

before(async () => {
  // A long poll: the test drives the worker itself, so what it counts is what it caused.
  s = await startBillingStack({ BILLING_POLL_MS: '600000', BILLING_RETURN_URL: 'https://panel.test', METRICS_TOKEN });
  ({ h, stripe, clock, worker, admin, deliverAll, waitCancelled, finalInvoice } = s);
});
after(async () => {
  await replica?.close();
  await s?.close();
});

/** Simulated time passes for every API instance (a second one joins in the idempotency test). */
function advance(ms: number) {
  clock.advance(ms);
  if (replica) replica.app.get(BillingClock).set(clock.now());
}

const waitState = (token: string, id: string, want: string) => s.waitState(token, id, want, 15000);

/** Order a server on the hourly plan and pay its Checkout Session; answers it running. */
async function paidHourlyServer(token: string, hostname: string) {
  const r = await h.http('POST', '/api/v1/servers', { token, body: { planId: hourlyPlanId, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const session = stripe.sessionFor(r.body.id)!;
  assert.deepEqual(r.body.billing, { mode: 'checkout', checkoutUrl: session.url, message: null }, 'the first hourly order pays through Checkout');
  assert.equal(r.body.checkoutUrl, session.url);
  assert.deepEqual(session.line_items, [{ price: stripe.prices.get(session.line_items[0].price)!.id }], 'a metered price is sold without a quantity');
  await deliverAll(stripe.completeCheckout(session.id));
  await waitState(token, r.body.id, 'running');
  return { id: r.body.id as string, sub: stripe.subscriptionFor(r.body.id)! };
}

function eventsOf(serverId: string) {
  return stripe.meterEvents.filter((e) => e.identifier.startsWith(`${serverId}:`));
}

describe('hourly billing (Stripe billing meters on the Stripe-compatible test server, real SDK, PostgreSQL and NATS)', () => {
  test('staff create a plan priced per hour: a Stripe meter and a metered price; validation names the field', async () => {
    const both = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Both', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceMonthlyCents: 500, priceHourlyCents: 1 } });
    assert.equal(both.status, 400, JSON.stringify(both.body));
    assert.equal(both.body.details[0].field, 'priceMonthlyCents');
    const zero = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Zero', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceHourlyCents: 0 } });
    assert.equal(zero.status, 400, JSON.stringify(zero.body));
    assert.match(JSON.stringify(zero.body), /priceHourlyCents/);
    const neither = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Neither', vcpus: 1, memoryMiB: 512, diskGiB: 10 } });
    assert.equal(neither.status, 400, JSON.stringify(neither.body));
    assert.match(JSON.stringify(neither.body), /priceMonthlyCents/);

    const created = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Hourly S', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceHourlyCents: RATE } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.priceHourlyCents, RATE);
    assert.equal(created.body.priceMonthlyCents, RATE * 730, 'a month of 730 hours, for comparison');
    hourlyPlanId = created.body.id;
    const [row] = await h.ds.query('SELECT * FROM billing_plan_prices WHERE plan_id = $1', [hourlyPlanId]);
    const price = stripe.prices.get(row.stripe_price_id)!;
    assert.equal(price.unit_amount, RATE);
    assert.equal(price.recurring.usage_type, 'metered');
    const meter = stripe.meters.get(price.recurring.meter)!;
    assert.equal(meter.event_name, row.meter_event_name);
    assert.equal(meter.default_aggregation.formula, 'sum');

    const listed = await h.http('GET', '/api/v1/plans', { token: admin });
    assert.equal(listed.body.find((p: { id: string }) => p.id === hourlyPlanId).priceHourlyCents, RATE);
    assert.equal(listed.body.find((p: { id: string }) => p.id === h.seed.planIds.small).priceHourlyCents, null);

    // the interval is fixed once a plan exists
    const toMonthly = await h.http('PATCH', `/api/v1/admin/plans/${hourlyPlanId}`, { token: admin, body: { priceHourlyCents: null } });
    assert.equal(toMonthly.status, 409, JSON.stringify(toMonthly.body));
    assert.match(toMonthly.body.message, /by the hour/);
    const toHourly = await h.http('PATCH', `/api/v1/admin/plans/${h.seed.planIds.small}`, { token: admin, body: { priceHourlyCents: 3 } });
    assert.equal(toHourly.status, 409, JSON.stringify(toHourly.body));
    const monthlyOnHourly = await h.http('PATCH', `/api/v1/admin/plans/${hourlyPlanId}`, { token: admin, body: { priceMonthlyCents: 100 } });
    assert.equal(monthlyOnHourly.status, 400, JSON.stringify(monthlyOnHourly.body));
  });

  test('a server that lives a simulated 3 hours bills exactly 3 hours; retries and a second API instance report each hour once; deleting stops the meter', async () => {
    const a = await h.register('hourly');
    const { id, sub } = await paidHourlyServer(a.token, 'hourly-1.example.com');
    await worker.drain(true);
    assert.equal(eventsOf(id).length, 0, 'no hour is over yet');

    // 2.5 simulated hours: two finished hours are reported, each with the identifier <serverId>:<hourStart>
    advance(2.5 * HOUR);
    await worker.drain(true);
    const two = eventsOf(id);
    assert.equal(two.length, 2, JSON.stringify(two));
    const [billing] = await h.ds.query('SELECT paid_at FROM server_billing WHERE server_id = $1', [id]);
    const start = new Date(billing.paid_at).getTime();
    assert.deepEqual(two.map((e) => e.identifier), [0, 1].map((k) => `${id}:${new Date(start + k * HOUR).toISOString()}`));
    assert.ok(two.every((e) => e.payload.stripe_customer_id === sub.customer && e.payload.value === '1'));

    // the tenant's upcoming invoice shows the hours (Stripe's preview sums the meter)
    const up = await h.http('GET', '/api/v1/billing/upcoming', { token: a.token });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const mine = up.body.find((x: { serverId: string }) => x.serverId === id);
    assert.equal(mine.billedPer, 'hour');
    assert.equal(mine.hoursReported, 2);
    assert.equal(mine.lines.length, 1);
    assert.equal(mine.lines[0].quantity, 2);
    assert.equal(mine.lines[0].unitAmount, RATE);
    assert.equal(mine.amountDue, 2 * RATE);
    // another tenant sees none of it
    const other = await h.register('hourly-other');
    assert.deepEqual((await h.http('GET', '/api/v1/billing/upcoming', { token: other.token })).body, []);

    // an hourly server cannot be resized to a monthly plan (nor a monthly one to an hourly plan): 409, said plainly
    const toMonthly = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.medium } });
    assert.equal(toMonthly.status, 409, JSON.stringify(toMonthly.body));
    assert.match(toMonthly.body.message, /billed by the hour and this plan monthly/);
    const options = (await h.http('GET', `/api/v1/servers/${id}/resize-options`, { token: a.token })).body;
    assert.match(options.find((o: { plan: { id: string } }) => o.plan.id === h.seed.planIds.medium).reason, /keeps the billing interval/);

    // idempotency: the reporter runs again, concurrently on two API instances, and an hour whose answer was "lost"
    // (reported_at cleared) is sent again: Stripe keeps one event per hour
    replica = await startApi(h.config, { logger: false });
    replica.app.get(BillingClock).set(clock.now());
    const meters = [h.api.app.get(HourlyMeterService), replica.app.get(HourlyMeterService)];
    await h.ds.query('UPDATE billing_hours SET reported_at = NULL WHERE server_id = $1 AND hour_start = $2', [id, new Date(start + HOUR)]);
    const requestsBefore = stripe.meterEventRequests;
    await Promise.all([meters[0]!.sweep(), meters[1]!.sweep(), worker.drain(true)]);
    assert.ok(stripe.meterEventRequests > requestsBefore, 'the lost hour was sent again');
    assert.equal(eventsOf(id).length, 2, 'and Stripe kept it once');
    const [claimed] = await h.ds.query('SELECT count(*)::int AS n, count(reported_at)::int AS reported FROM billing_hours WHERE server_id = $1', [id]);
    assert.deepEqual(claimed, { n: 2, reported: 2 });

    // delete at 2.5 h: the started third hour is rounded up and reported at once; the subscription is cancelled with
    // the hours invoiced now
    assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token })).status, 202);
    await waitState(a.token, id, 'deleted');
    await waitCancelled(sub.id);
    assert.equal(eventsOf(id).length, 3);
    assert.equal(eventsOf(id)[2]!.identifier, `${id}:${new Date(start + 2 * HOUR).toISOString()}`);
    const final = finalInvoice(sub.id);
    assert.ok(final, 'a final invoice with the usage');
    assert.equal(final.lines.data[0].quantity, 3, 'exactly 3 hours billed');
    assert.equal(final.amount_due, 3 * RATE);
    await deliverAll(stripe.outbox.splice(0));
    await worker.drain(true);
    const invoices = (await h.http('GET', '/api/v1/billing/invoices', { token: a.token })).body;
    assert.ok(invoices.some((i: { amountDue: number; serverId: string }) => i.serverId === id && i.amountDue === 3 * RATE), JSON.stringify(invoices));

    // the meter stays stopped: hours later, nothing more is reported or claimed
    advance(5 * HOUR);
    await worker.drain(true);
    await meters[1]!.sweep();
    assert.equal(eventsOf(id).length, 3);
    const [after3] = await h.ds.query('SELECT count(*)::int AS n FROM billing_hours WHERE server_id = $1', [id]);
    assert.equal(after3.n, 3);
    assert.deepEqual((await h.http('GET', '/api/v1/billing/upcoming', { token: a.token })).body.filter((x: { serverId: string }) => x.serverId === id), []);
  });

  test("a tenant's hourly servers share one subscription: 3 servers on one plan and 1 on another bill exactly the hours each lived, upcoming and final", async () => {
    const RATE_M = 11;
    const planM = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Hourly M', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceHourlyCents: RATE_M } });
    assert.equal(planM.status, 201, JSON.stringify(planM.body));
    const t = await h.register('hourly-many');
    const first = await paidHourlyServer(t.token, 'many-a.example.com');
    const sub = first.sub;

    /** A later hourly order joins the tenant's subscription: no Checkout, placed by the worker. */
    async function joined(planId: string, hostname: string) {
      const r = await h.http('POST', '/api/v1/servers', { token: t.token, body: { planId, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.checkoutUrl, null, 'no payment step: it joins the paid hourly subscription');
      assert.deepEqual(r.body.billing, { mode: 'joined', checkoutUrl: null, message: null }, 'and the answer says so');
      assert.equal(stripe.sessionFor(r.body.id), undefined, 'no Checkout Session');
      await waitState(t.token, r.body.id, 'running');
      const [row] = await h.ds.query('SELECT stripe_subscription_id FROM server_billing WHERE server_id = $1', [r.body.id]);
      assert.equal(row.stripe_subscription_id, sub.id);
      return r.body.id as string;
    }
    const upcoming = async () => (await h.http('GET', '/api/v1/billing/upcoming', { token: t.token })).body as { serverId: string; subscriptionId: string; amountDue: number; subscriptionAmountDue: number; lines: { quantity: number; unitAmount: number }[] }[];
    const stripeLines = () =>
      Object.fromEntries(stripe.preview(sub.id).lines.data.map((l: { quantity: number; pricing: { price_details: { price: string } } }) => [l.pricing.price_details.price, l.quantity]));
    const [rowS] = await h.ds.query('SELECT stripe_price_id FROM billing_plan_prices WHERE plan_id = $1', [hourlyPlanId]);

    advance(1 * HOUR);
    const b = await joined(hourlyPlanId, 'many-b.example.com');
    advance(1 * HOUR);
    await worker.drain(true);
    // two servers on one plan: A 2 hours, B 1 hour; one subscription, one item for the plan, Stripe's line = 3
    let up = await upcoming();
    assert.deepEqual(up.map((u) => u.subscriptionId), [sub.id, sub.id]);
    assert.equal(up.find((u) => u.serverId === first.id)!.lines[0]!.quantity, 2);
    assert.equal(up.find((u) => u.serverId === b)!.lines[0]!.quantity, 1);
    assert.ok(up.every((u) => u.subscriptionAmountDue === 3 * RATE), JSON.stringify(up));
    assert.equal(stripe.subscriptions.get(sub.id)!.items.data.length, 1);

    const c = await joined(hourlyPlanId, 'many-c.example.com');
    const d = await joined(planM.body.id, 'many-d.example.com');
    const [rowM] = await h.ds.query('SELECT stripe_price_id FROM billing_plan_prices WHERE plan_id = $1', [planM.body.id]);
    assert.deepEqual(stripe.subscriptions.get(sub.id)!.items.data.map((i: { price: { id: string } }) => i.price.id), [rowS.stripe_price_id, rowM.stripe_price_id], 'one item per plan price');
    advance(2.5 * HOUR);
    await worker.drain(true);
    // at 4.5 h: A 4, B 3, C 2 (three servers on one plan) and D 2 on the other plan
    up = await upcoming();
    const hours = Object.fromEntries(up.map((u) => [u.serverId, u.lines.map((l) => l.quantity)]));
    assert.deepEqual(hours, { [first.id]: [4], [b]: [3], [c]: [2], [d]: [2] });
    assert.equal(up.find((u) => u.serverId === d)!.lines[0]!.unitAmount, RATE_M);
    assert.deepEqual(stripeLines(), { [rowS.stripe_price_id]: 9, [rowM.stripe_price_id]: 2 }, "Stripe bills the plan's item once with the sum");
    assert.ok(up.every((u) => u.subscriptionAmountDue === 9 * RATE + 2 * RATE_M));
    assert.equal(up.reduce((n, u) => n + u.amountDue, 0), 9 * RATE + 2 * RATE_M, 'the parts add up to Stripe\'s total');

    // cancelling "at period end" would end the shared subscription of all four: refused, with the way out
    const cancel = await h.http('POST', `/api/v1/billing/subscriptions/${b}/cancel`, { token: t.token });
    assert.equal(cancel.status, 409, JSON.stringify(cancel.body));
    assert.match(cancel.body.message, /delete the server/);
    assert.equal(stripe.subscriptions.get(sub.id)!.cancel_at_period_end, false);

    // deleting C and B detaches them: their started hour is billed, the subscription goes on for the others
    for (const id of [c, b]) {
      assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
      await waitState(t.token, id, 'deleted');
    }
    await worker.drain(true);
    assert.equal(stripe.subscriptions.get(sub.id)!.status, 'active');
    assert.deepEqual([eventsOf(c).length, eventsOf(b).length], [3, 4]);
    advance(1 * HOUR);
    await worker.drain(true);
    assert.deepEqual([eventsOf(c).length, eventsOf(b).length], [3, 4], 'their meters stay stopped');

    // deleting the last two (at 5.5 h) cancels the subscription with everything invoiced now
    for (const id of [d, first.id]) {
      assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
      await waitState(t.token, id, 'deleted');
    }
    await waitCancelled(sub.id);
    assert.deepEqual([first.id, b, c, d].map((id) => eventsOf(id).length), [6, 4, 3, 4]);
    const final = finalInvoice(sub.id);
    assert.ok(final, 'a final invoice with the usage');
    assert.deepEqual(Object.fromEntries(final.lines.data.map((l: { quantity: number; pricing: { price_details: { price: string } } }) => [l.pricing.price_details.price, l.quantity])),
      { [rowS.stripe_price_id]: 6 + 4 + 3, [rowM.stripe_price_id]: 4 });
    assert.equal(final.amount_due, 13 * RATE + 4 * RATE_M);
    await deliverAll(stripe.outbox.splice(0));
    await worker.drain(true);
  });

  test('two hourly orders paid through two Checkouts before either was placed: the second joins the first subscription, its own is cancelled', async () => {
    const t = await h.register('hourly-two-checkouts');
    const ids: string[] = [];
    for (const hostname of ['two-a', 'two-b']) {
      const r = await h.http('POST', '/api/v1/servers', { token: t.token, body: { planId: hourlyPlanId, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.ok(r.body.checkoutUrl, 'no hourly subscription yet: each goes to Checkout');
      ids.push(r.body.id);
    }
    const events = ids.map((id) => stripe.completeCheckout(stripe.sessionFor(id)!.id));
    for (const batch of events) await deliverAll(batch);
    for (const id of ids) await waitState(t.token, id, 'running');
    const [a, b] = ids.map((id) => stripe.subscriptionFor(id)!);
    const rows = await h.ds.query('SELECT server_id, stripe_subscription_id FROM server_billing WHERE server_id = ANY($1)', [ids]);
    assert.deepEqual(new Set(rows.map((r: { stripe_subscription_id: string }) => r.stripe_subscription_id)), new Set([a.id]), 'both on the first subscription');
    assert.equal(a.status, 'active');
    assert.equal(b.status, 'canceled', 'the second Checkout\'s subscription is cancelled');
    await deliverAll(stripe.outbox.splice(0));
    await worker.drain(true);
    assert.equal((await h.http('GET', `/api/v1/servers/${ids[1]}`, { token: t.token })).body.state, 'running', 'its cancelled subscription does not suspend the server');
    // (the test Stripe server's clock runs a little ahead of the billing clock when many events come in one second,
    // and the second order's hours start at its payment event's time: a few minutes' margin)
    advance(2 * HOUR + 5 * 60_000);
    await worker.drain(true);
    assert.deepEqual(ids.map((id) => eventsOf(id).length), [2, 2]);
    const [line] = stripe.preview(a.id).lines.data;
    assert.equal(line.quantity, 4, 'each hour billed once: 2 servers × 2 hours');
    for (const id of ids) assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
    for (const id of ids) await waitState(t.token, id, 'deleted');
    await waitCancelled(a.id);
    await deliverAll(stripe.outbox.splice(0));
  });

  test("an hourly order while the team's hourly subscription is past due answers mode 'unavailable' with the reason; paid up, the retry joins", async () => {
    const t = await h.register('hourly-past-due');
    const first = await paidHourlyServer(t.token, 'due-a.example.com');
    await deliverAll(stripe.failPayment(first.sub.id));
    await worker.drain(true);
    const r = await h.http('POST', '/api/v1/servers', { token: t.token, body: { planId: hourlyPlanId, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'due-b.example.com' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.state, 'pending_payment');
    assert.equal(r.body.billing.mode, 'unavailable', JSON.stringify(r.body.billing));
    assert.equal(r.body.billing.checkoutUrl, null);
    assert.match(r.body.billing.message, /past due: pay the open invoice/);
    assert.equal(stripe.sessionFor(r.body.id), undefined, 'no second Checkout beside the shared subscription');
    const refused = await h.http('POST', `/api/v1/billing/servers/${r.body.id}/checkout`, { token: t.token });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'not_payable');
    // another tenant cannot ask for it
    const other = await h.register('hourly-past-due-other');
    assert.equal((await h.http('POST', `/api/v1/billing/servers/${r.body.id}/checkout`, { token: other.token })).status, 404);

    await deliverAll(stripe.payOpenInvoice(first.sub.id));
    await worker.drain(true);
    const retry = await h.http('POST', `/api/v1/billing/servers/${r.body.id}/checkout`, { token: t.token });
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.deepEqual(retry.body, { mode: 'joined', checkoutUrl: null });
    await waitState(t.token, r.body.id, 'running');
    for (const id of [r.body.id, first.id]) assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
    for (const id of [r.body.id, first.id]) await waitState(t.token, id, 'deleted');
    await waitCancelled(first.sub.id);
    await deliverAll(stripe.outbox.splice(0));
  });

  test('resize hourly → hourly: the hour in progress is billed at the plan it started on, the next hours at the new plan', async () => {
    const RATE_L = 13;
    const planL = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Hourly L', vcpus: 2, memoryMiB: 1024, diskGiB: 20, priceHourlyCents: RATE_L } });
    assert.equal(planL.status, 201, JSON.stringify(planL.body));
    const t = await h.register('hourly-resize');
    const { id, sub } = await paidHourlyServer(t.token, 'resize-h.example.com');
    advance(1.5 * HOUR);
    await worker.drain(true);
    const r = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: t.token, body: { planId: planL.body.id } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal((await waitState(t.token, id, 'running')).plan.name, 'Hourly L');
    advance(1.7 * HOUR); // 3.2 h: hours 0 and 1 started on S (hour 1 was in progress at the resize), hour 2 on L
    await worker.drain(true);
    const [sPrice] = await h.ds.query('SELECT stripe_price_id, meter_event_name FROM billing_plan_prices WHERE plan_id = $1', [hourlyPlanId]);
    const [lPrice] = await h.ds.query('SELECT stripe_price_id, meter_event_name FROM billing_plan_prices WHERE plan_id = $1', [planL.body.id]);
    assert.deepEqual(eventsOf(id).map((e) => e.event_name), [sPrice.meter_event_name, sPrice.meter_event_name, lPrice.meter_event_name]);
    assert.deepEqual(sub.items.data.map((i: { price: { id: string } }) => i.price.id), [sPrice.stripe_price_id, lPrice.stripe_price_id], 'the new plan\'s price joined the subscription');
    assert.equal(stripe.prorations.filter((p) => p.subscription === sub.id).length, 0, 'metered items prorate nothing');
    const lines = Object.fromEntries(stripe.preview(sub.id).lines.data.map((l: { quantity: number; pricing: { price_details: { price: string } } }) => [l.pricing.price_details.price, l.quantity]));
    assert.deepEqual(lines, { [sPrice.stripe_price_id]: 2, [lPrice.stripe_price_id]: 1 });
    const up = (await h.http('GET', '/api/v1/billing/upcoming', { token: t.token })).body;
    assert.deepEqual(up[0].lines.map((l: { quantity: number; unitAmount: number }) => [l.quantity, l.unitAmount]), [[2, RATE], [1, RATE_L]]);
    assert.equal(up[0].amountDue, 2 * RATE + RATE_L);
    assert.equal(up[0].subscriptionAmountDue, 2 * RATE + RATE_L);
    assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
    await waitState(t.token, id, 'deleted');
    await waitCancelled(sub.id);
    const final = finalInvoice(sub.id);
    assert.equal(final?.amount_due, 2 * RATE + 2 * RATE_L, 'the started fourth hour at the new plan');
    await deliverAll(stripe.outbox.splice(0));
  });

  test("delete while Stripe fails the last hour's report: the cancellation waits, the hour is retried and is on the final invoice", async () => {
    const t = await h.register('hourly-last-hour');
    const { id, sub } = await paidHourlyServer(t.token, 'last-hour.example.com');
    advance(1.5 * HOUR);
    await worker.drain(true);
    assert.equal(eventsOf(id).length, 1);
    // the last hour's report fails, and so does the retry right before the cancellation (3 answers each: the SDK retries twice)
    stripe.failures.set('/v1/billing/meter_events', 6);
    assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
    await waitState(t.token, id, 'deleted');
    await waitCancelled(sub.id);
    assert.equal(stripe.failures.get('/v1/billing/meter_events'), 0, 'the report failed');
    const [last] = await h.ds.query('SELECT attempts, last_error, reported_at FROM billing_hours WHERE server_id = $1 ORDER BY hour_start DESC LIMIT 1', [id]);
    assert.ok(last.attempts >= 1 && last.reported_at, JSON.stringify(last));
    assert.equal(eventsOf(id).length, 2);
    const cancelAt = stripe.requests.findIndex((r) => r.method === 'DELETE' && r.path === `/v1/subscriptions/${sub.id}`);
    const lastReport = stripe.requests.map((r) => r.path).lastIndexOf('/v1/billing/meter_events');
    assert.ok(lastReport < cancelAt, 'cancelled only after Stripe took the last hour');
    const final = finalInvoice(sub.id);
    assert.equal(final?.lines.data[0].quantity, 2, 'both started hours on the final invoice');
    assert.equal(final?.amount_due, 2 * RATE);
    await deliverAll(stripe.outbox.splice(0));
  });

  test('a failed report waits with bounded exponential backoff (not every sweep), and /metrics shows the hour stuck until Stripe takes it', async () => {
    const scrape = async () => {
      const r = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(r.status, 200);
      return parsePrometheus(await r.text());
    };
    const t = await h.register('hourly-backoff');
    const { id, sub } = await paidHourlyServer(t.token, 'backoff.example.com');
    stripe.failures.set('/v1/billing/meter_events', 3); // one failed call (the SDK retries twice)
    advance(1 * HOUR + 60_000);
    await worker.drain(true);
    assert.equal(eventsOf(id).length, 0);
    const [row] = await h.ds.query('SELECT attempts, next_attempt_at, last_error FROM billing_hours WHERE server_id = $1', [id]);
    assert.equal(row.attempts, 1);
    const wait = new Date(row.next_attempt_at).getTime() - clock.now().getTime();
    assert.ok(wait >= 0.8 * 30_000 - 1000 && wait <= 1.2 * 30_000 + 1000, `first retry after 30 s ± 20 %: ${wait} ms`);
    let m = await scrape();
    assert.ok((promValue(m, 'oblako_billing_hours_unreported') ?? 0) >= 1);
    // sweeps before the retry time send nothing (Stripe is not hammered by every poll)
    const requests = stripe.meterEventRequests;
    await worker.drain(true);
    await worker.drain(true);
    assert.equal(stripe.meterEventRequests, requests, 'no retry before next_attempt_at');
    // a second failure doubles the wait
    stripe.failures.set('/v1/billing/meter_events', 3);
    advance(40_000);
    await worker.drain(true);
    const [row2] = await h.ds.query('SELECT attempts, next_attempt_at FROM billing_hours WHERE server_id = $1', [id]);
    assert.equal(row2.attempts, 2);
    const wait2 = new Date(row2.next_attempt_at).getTime() - clock.now().getTime();
    assert.ok(wait2 >= 0.8 * 60_000 - 1000 && wait2 <= 1.2 * 60_000 + 1000, `second retry after 60 s ± 20 %: ${wait2} ms`);
    advance(75_000);
    await worker.drain(true);
    assert.equal(eventsOf(id).length, 1, 'taken once the wait is over');
    m = await scrape();
    const [left] = await h.ds.query('SELECT count(*)::int AS n FROM billing_hours WHERE reported_at IS NULL AND invoice_item_id IS NULL');
    assert.equal(promValue(m, 'oblako_billing_hours_unreported'), left.n);
    assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
    await waitState(t.token, id, 'deleted');
    await waitCancelled(sub.id);
    await deliverAll(stripe.outbox.splice(0));
  });

  test('a subscription Stripe ends itself (unpaid) bills the period\'s hours as one invoice item per server, once, even across a failed try', async () => {
    const t = await h.register('hourly-ended');
    const first = await paidHourlyServer(t.token, 'ended-a.example.com');
    advance(1 * HOUR);
    const r = await h.http('POST', '/api/v1/servers', { token: t.token, body: { planId: hourlyPlanId, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'ended-b.example.com' } });
    assert.equal(r.body.billing.mode, 'joined', JSON.stringify(r.body));
    await waitState(t.token, r.body.id, 'running');
    const b = r.body.id as string;
    advance(1.5 * HOUR); // A 2.5 h, B 1.5 h: reported so far A 2, B 1
    await worker.drain(true);
    assert.deepEqual([eventsOf(first.id).length, eventsOf(b).length], [2, 1]);
    await deliverAll(stripe.failPayment(first.sub.id));
    advance(0.25 * HOUR); // ends at A 2.75 h, B 1.75 h: started hours A 3, B 2
    const eventsBefore = stripe.meterEvents.length;
    // Stripe gives up and ends the subscription; it invoices none of the period's usage
    stripe.failures.set('/v1/invoiceitems', 3); // the first try to bill them fails
    await deliverAll(stripe.endSubscription(first.sub.id));
    await worker.drain(true);
    assert.equal([...stripe.invoiceItems.values()].length, 0, 'the failed try made nothing');
    const [end] = await h.ds.query('SELECT how, attempts, settled_at, last_error FROM billing_hourly_ends WHERE stripe_subscription_id = $1', [first.sub.id]);
    assert.equal(end.how, 'stripe');
    assert.equal(end.settled_at, null);
    assert.ok(end.attempts >= 1 && end.last_error, JSON.stringify(end));
    await worker.drain(true);
    await worker.drain(true);
    const items = [...stripe.invoiceItems.values()].filter((i) => i.customer === first.sub.customer);
    const byServer = Object.fromEntries(items.map((i) => [i.metadata.serverId, i]));
    assert.equal(items.length, 2, JSON.stringify(items));
    assert.equal(byServer[first.id].amount, 3 * RATE);
    assert.equal(byServer[b].amount, 2 * RATE);
    assert.match(byServer[first.id].description, /^ended-a\.example\.com: 3 h of Hourly S at 0\.07 \/ hour/);
    assert.match(byServer[b].description, /^ended-b\.example\.com: 2 h of Hourly S/);
    const invoice = [...stripe.invoices.values()].find((i) => i.metadata?.subscriptionId === first.sub.id && i.metadata?.oblako === 'hours_after_end');
    assert.ok(invoice, 'a one-off invoice takes the items');
    assert.equal(invoice.amount_due, 5 * RATE);
    assert.equal(invoice.lines.data.length, 2);
    const [rows] = await h.ds.query(
      `SELECT count(*)::int AS n, count(bh.invoice_item_id)::int AS billed FROM billing_hours bh JOIN server_billing sb ON sb.server_id = bh.server_id WHERE sb.stripe_subscription_id = $1`,
      [first.sub.id],
    );
    assert.deepEqual(rows, { n: 5, billed: 5 });
    assert.equal(stripe.meterEvents.length, eventsBefore, 'the billed hours are not also sent as meter events');
    // later sweeps, and hours passing, add nothing
    advance(3 * HOUR);
    await worker.drain(true);
    await worker.drain(true);
    assert.equal([...stripe.invoiceItems.values()].filter((i) => i.customer === first.sub.customer).length, 2);
    assert.equal([...stripe.invoices.values()].filter((i) => i.metadata?.oblako === 'hours_after_end' && i.customer === first.sub.customer).length, 1);
    // the servers follow the ended subscription (suspended), as before
    assert.equal((await h.http('GET', `/api/v1/servers/${b}`, { token: t.token })).body.state, 'suspended');
  });

  test('our own cancellation (invoice_now) is not mistaken for Stripe ending it: no invoice items', async () => {
    const t = await h.register('hourly-own-cancel');
    const { id, sub } = await paidHourlyServer(t.token, 'own-cancel.example.com');
    advance(1.5 * HOUR);
    await worker.drain(true);
    assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: t.token })).status, 202);
    await waitState(t.token, id, 'deleted');
    await waitCancelled(sub.id);
    await deliverAll(stripe.outbox.splice(0));
    await worker.drain(true);
    const [end] = await h.ds.query('SELECT how FROM billing_hourly_ends WHERE stripe_subscription_id = $1', [sub.id]);
    assert.equal(end.how, 'invoice_now');
    assert.equal([...stripe.invoiceItems.values()].filter((i) => i.customer === sub.customer).length, 0);
    assert.equal(finalInvoice(sub.id)?.amount_due, 2 * RATE);
  });

  test('a monthly server sends no meter events', async () => {
    const m = await h.register('monthly-meter');
    const r = await h.http('POST', '/api/v1/servers', { token: m.token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'monthly-1' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await deliverAll(stripe.completeCheckout(stripe.sessionFor(r.body.id)!.id));
    await waitState(m.token, r.body.id, 'running');
    advance(3 * HOUR);
    await worker.drain(true);
    assert.equal(eventsOf(r.body.id).length, 0);
    const toHourly = await h.http('POST', `/api/v1/servers/${r.body.id}/resize`, { token: m.token, body: { planId: hourlyPlanId } });
    assert.equal(toHourly.status, 409, JSON.stringify(toHourly.body));
    assert.match(toHourly.body.message, /billed monthly and this plan by the hour/);
    const up = (await h.http('GET', '/api/v1/billing/upcoming', { token: m.token })).body;
    assert.equal(up.length, 1);
    assert.equal(up[0].billedPer, 'month');
    assert.equal(up[0].amountDue, 500);
  });
});
