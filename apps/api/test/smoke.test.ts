import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test('health reports database and NATS', async () => {
  const r = await h.http('GET', '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok', database: 'up', nats: 'up', billing: 'off' });
});

test('catalogue and admin login', async () => {
  const token = await h.login(ADMIN.email, ADMIN.password);
  const plans = await h.http('GET', '/api/v1/plans', { token });
  assert.equal(plans.status, 200);
  assert.equal(plans.body.length, 3);
  const nodes = await h.http('GET', '/api/v1/admin/nodes', { token });
  assert.equal(nodes.status, 200, JSON.stringify(nodes.body));
  const docs = await h.http('GET', '/api/docs-json');
  assert.equal(docs.status, 200);
  assert.ok(docs.body.paths['/api/v1/servers']);
});
