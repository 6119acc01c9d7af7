import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newEd25519Line, startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test("two tenants cannot list, read, act on or delete each other's servers, keys or tokens (404)", async () => {
  const a = await h.register('iso-a');
  const b = await h.register('iso-b');

  const key = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'a-key', publicKey: await newEd25519Line() } });
  assert.equal(key.status, 201);
  const token = await h.http('POST', '/api/v1/api-tokens', { token: a.token, body: { name: 'a-ci' } });
  assert.equal(token.status, 201);
  const server = await h.http('POST', '/api/v1/servers', {
    token: a.token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'a-web', sshKeyIds: [key.body.id] },
  });
  assert.equal(server.status, 201);
  const sid = server.body.id;

  // B sees nothing of A's.
  assert.deepEqual((await h.http('GET', '/api/v1/servers', { token: b.token })).body.items, []);
  assert.deepEqual((await h.http('GET', '/api/v1/ssh-keys', { token: b.token })).body, []);
  assert.deepEqual((await h.http('GET', '/api/v1/api-tokens', { token: b.token })).body, []);

  const notFound = async (method: string, path: string, body?: unknown) => {
    const r = await h.http(method, path, { token: b.token, body });
    assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(r.body.message.length > 10);
  };
  await notFound('GET', `/api/v1/servers/${sid}`);
  await notFound('GET', `/api/v1/servers/${sid}/tasks`);
  await notFound('POST', `/api/v1/servers/${sid}/actions`, { action: 'stop' });
  await notFound('DELETE', `/api/v1/servers/${sid}`);
  await notFound('GET', `/api/v1/ssh-keys/${key.body.id}`);
  await notFound('DELETE', `/api/v1/ssh-keys/${key.body.id}`);
  await notFound('DELETE', `/api/v1/api-tokens/${token.body.id}`);

  // B cannot borrow A's key for an order either.
  const borrow = await h.http('POST', '/api/v1/servers', {
    token: b.token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'b-web', sshKeyIds: [key.body.id] },
  });
  assert.equal(borrow.status, 404);
  assert.equal(borrow.body.code, 'ssh_key_not_found');

  // A tenant header naming someone else's tenant does not help.
  const hop = await h.http('GET', '/api/v1/servers', { token: b.token, headers: { 'x-tenant-id': a.tenantId } });
  assert.equal(hop.status, 404);

  // A's API token only ever sees A's tenant.
  const viaToken = await h.http('GET', '/api/v1/servers', { token: token.body.token });
  assert.equal(viaToken.status, 200);
  assert.deepEqual(viaToken.body.items.map((s: { id: string }) => s.id), [sid]);
  const tokenHop = await h.http('GET', '/api/v1/servers', { token: token.body.token, headers: { 'x-tenant-id': b.tenantId } });
  assert.equal(tokenHop.status, 403);

  // Everything of A's is still there.
  assert.equal((await h.http('GET', `/api/v1/servers/${sid}`, { token: a.token })).body.state, 'provisioning');
  assert.equal((await h.http('GET', '/api/v1/ssh-keys', { token: a.token })).body.length, 1);
  assert.equal((await h.http('GET', '/api/v1/api-tokens', { token: a.token })).body.length, 1);
});

test('customers cannot reach staff endpoints; staff can', async () => {
  const a = await h.register('iso-staff');
  const r = await h.http('GET', '/api/v1/admin/nodes', { token: a.token });
  assert.equal(r.status, 403);
  assert.match(r.body.message, /provider staff/);
  const anonymous = await h.http('GET', '/api/v1/servers');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.code, 'unauthenticated');
});

test('staff read the audit log, customers cannot', async () => {
  const a = await h.register('audit');
  await h.http('POST', '/api/v1/api-tokens', { token: a.token, body: { name: 'audited' } });
  const { ADMIN } = await import('./support/harness.js');
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const log = await h.http('GET', `/api/v1/admin/audit?tenantId=${a.tenantId}`, { token: staff });
  assert.equal(log.status, 200, JSON.stringify(log.body));
  assert.deepEqual(log.body.map((e: { action: string }) => e.action), ['api_token.create', 'tenant.register']);
  assert.equal((await h.http('GET', '/api/v1/admin/audit', { token: a.token })).status, 403);
});

test('staff list servers across tenants and filter them; customers cannot', async () => {
  const { ADMIN } = await import('./support/harness.js');
  const x = await h.register('staff-x');
  const y = await h.register('staff-y');
  const mk = (token: string, hostname: string) =>
    h.http('POST', '/api/v1/servers', { token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
  const sx = (await mk(x.token, 'x1')).body.id;
  const sy = (await mk(y.token, 'y1')).body.id;
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const all = await h.http('GET', `/api/v1/admin/servers?nodeId=${h.seed.nodeId}&limit=100`, { token: staff });
  assert.equal(all.status, 200, JSON.stringify(all.body));
  const ids = all.body.items.map((s: { id: string }) => s.id);
  assert.ok(ids.includes(sx) && ids.includes(sy));
  const onlyX = await h.http('GET', `/api/v1/admin/servers?tenantId=${x.tenantId}`, { token: staff });
  assert.deepEqual(onlyX.body.items.map((s: { id: string }) => s.id), [sx]);
  const bad = await h.http('GET', '/api/v1/admin/servers?state=flying', { token: staff });
  assert.equal(bad.status, 400);
  assert.equal((await h.http('GET', '/api/v1/admin/servers', { token: x.token })).status, 403);
});
