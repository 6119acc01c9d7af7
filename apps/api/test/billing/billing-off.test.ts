import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test('without a Stripe key billing is off: status says so, orders are placed at once, the webhook and billing actions refuse', async () => {
  assert.deepEqual((await h.http('GET', '/api/v1/billing/status')).body.billing, 'off');
  assert.equal((await h.http('GET', '/health')).body.billing, 'off');
  const a = await h.register('off');
  const s = await h.http('POST', '/api/v1/servers', {
    token: a.token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'off.example.com' },
  });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  assert.equal(s.body.state, 'provisioning');
  assert.ok(!s.body.checkoutUrl);
  assert.deepEqual(s.body.billing, { mode: 'off', checkoutUrl: null, message: null }, 'the answer says billing is off, not a missing URL');
  const hook = await h.http('POST', '/api/v1/billing/stripe/webhook', { raw: '{}', headers: { 'stripe-signature': 't=1,v1=x' } });
  assert.equal(hook.status, 409);
  assert.equal(hook.body.code, 'billing_off');
  assert.equal((await h.http('POST', '/api/v1/billing/portal', { token: a.token })).body.code, 'billing_off');
  assert.deepEqual((await h.http('GET', '/api/v1/billing/subscriptions', { token: a.token })).body, []);
  assert.equal(await h.count('server_billing'), 0);
});
