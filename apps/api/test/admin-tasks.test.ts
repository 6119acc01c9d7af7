import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
before(async () => {
  h = await startHarness();
  // The node fails every create of a host name starting with "bad", like a broken image would.
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) =>
    cmd.op === 'create' && cmd.spec.hostname.startsWith('bad') ? { ok: false, error: { code: 'image_checksum', message: 'base image checksum mismatch' } } : { ok: true },
  );
});
after(async () => {
  await node?.stop();
  await h?.close();
});

test('staff see failed tasks of every tenant with their errors; customers cannot', async () => {
  const a = await h.register('tasks-a');
  const b = await h.register('tasks-b');
  const body = (hostname: string) => ({ planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname });
  const bad = await h.http('POST', '/api/v1/servers', { token: a.token, body: body('bad-1') });
  const good = await h.http('POST', '/api/v1/servers', { token: b.token, body: body('good-1') });
  assert.equal(bad.status, 201);
  assert.equal(good.status, 201);
  await waitFor('the bad create to fail', async () => (await h.http('GET', `/api/v1/servers/${bad.body.id}`, { token: a.token })).body.state === 'error');

  const login = await h.http('POST', '/api/v1/auth/login', { body: ADMIN });
  const staff = login.body.accessToken as string;
  const failed = await h.http('GET', '/api/v1/admin/tasks?state=failed', { token: staff });
  assert.equal(failed.status, 200, JSON.stringify(failed.body));
  assert.equal(failed.body.items.length, 1);
  const [t] = failed.body.items;
  assert.equal(t.serverId, bad.body.id);
  assert.equal(t.hostname, 'bad-1');
  assert.equal(t.tenantId, a.tenantId);
  assert.equal(t.state, 'failed');
  assert.match(t.error, /checksum mismatch/);

  const all = await h.http('GET', '/api/v1/admin/tasks?limit=1', { token: staff });
  assert.equal(all.body.items.length, 1);
  assert.ok(all.body.nextCursor, 'more than one task: a next page');
  const next = await h.http('GET', `/api/v1/admin/tasks?limit=1&cursor=${encodeURIComponent(all.body.nextCursor)}`, { token: staff });
  assert.notEqual(next.body.items[0].id, all.body.items[0].id);

  assert.equal((await h.http('GET', '/api/v1/admin/tasks?state=exploded', { token: staff })).status, 400);
  const customer = await h.http('GET', '/api/v1/admin/tasks', { token: a.token });
  assert.ok(customer.status === 403 || customer.status === 404, `a customer got ${customer.status}`);
});
