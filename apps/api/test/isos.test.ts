/**
 * The ISO library and the boot_iso / detach_iso operations through the API, with a simulated node:
 * staff manage ISOs (checked input, audited), customers see the offered ones, boot_iso sends the ISO
 * (URL and checksum) with the server's spec to its node and the server shows it attached, detach_iso
 * takes it out; wrong states, retired ISOs and another tenant's server are refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let admin: string;
const SHA = 'ab'.repeat(32);

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  admin = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await node?.stop();
  await h?.close();
});


test('staff manage the ISO library; customers see only what is offered', async () => {
  const bad = await h.http('POST', '/api/v1/admin/isos', { token: admin, body: { name: '', url: 'ftp://x/y.iso', sha256: 'XYZ' } });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.details.map((d: { field: string }) => d.field).sort(), ['name', 'sha256', 'url']);
  const created = await h.http('POST', '/api/v1/admin/isos', { token: admin, body: { name: 'Rescue 1', url: 'https://mirror.example/rescue.iso', sha256: SHA } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const dup = await h.http('POST', '/api/v1/admin/isos', { token: admin, body: { name: 'Rescue 1', url: 'https://mirror.example/other.iso', sha256: SHA } });
  assert.equal(dup.status, 409);
  const a = await h.register('iso-list');
  assert.equal((await h.http('POST', '/api/v1/admin/isos', { token: a.token, body: { name: 'X', url: 'https://x/x.iso', sha256: SHA } })).status, 403, 'customers cannot add ISOs');
  let list = await h.http('GET', '/api/v1/isos', { token: a.token });
  assert.deepEqual(list.body.map((i: { name: string }) => i.name), ['Rescue 1']);
  assert.equal(list.body[0].url, undefined, 'customers do not see where nodes fetch it');
  await h.http('PATCH', `/api/v1/admin/isos/${created.body.id}`, { token: admin, body: { active: false } });
  list = await h.http('GET', '/api/v1/isos', { token: a.token });
  assert.deepEqual(list.body, []);
  const [audit] = await h.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1 AND action LIKE 'iso.%'`, [created.body.id]);
  assert.equal(audit.n, 2);
});

test('boot_iso sends the ISO with the spec to the server’s node; detach_iso takes it out; refusals are clear', async () => {
  const iso = (await h.http('POST', '/api/v1/admin/isos', { token: admin, body: { name: 'Installer', url: 'file:///srv/isos/installer.iso', sha256: SHA } })).body;
  const a = await h.register('iso-boot');
  const b = await h.register('iso-other');
  const created = await h.http('POST', '/api/v1/servers', { token: a.token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'iso-1' } });
  const id = created.body.id;
  await h.waitIdle(a.token, id, 'running');

  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'boot_iso' } })).status, 404, 'boot_iso needs an ISO');
  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'start', isoId: iso.id } })).status, 400, 'isoId only with boot_iso');
  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: b.token, body: { action: 'boot_iso', isoId: iso.id } })).status, 404, "another tenant's server");
  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'detach_iso' } })).status, 409, 'nothing attached');

  const boot = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'boot_iso', isoId: iso.id } });
  assert.equal(boot.status, 202, JSON.stringify(boot.body));
  assert.equal(boot.body.state, 'rebooting');
  const running = await h.waitIdle(a.token, id, 'running');
  assert.deepEqual(running.iso, { id: iso.id, name: 'Installer', active: true });
  const cmd = node.received.find((c) => c.serverId === id && c.op === 'boot_iso');
  assert.ok(cmd && cmd.op === 'boot_iso');
  assert.deepEqual(cmd.iso, { id: iso.id, name: 'Installer', url: 'file:///srv/isos/installer.iso', sha256: SHA });
  assert.equal(cmd.spec.serverId, id);

  assert.equal((await h.http('DELETE', `/api/v1/admin/isos/${iso.id}`, { token: admin })).status, 409, 'an attached ISO cannot be deleted');

  const detach = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'detach_iso' } });
  assert.equal(detach.status, 202, JSON.stringify(detach.body));
  const back = await h.waitIdle(a.token, id, 'running');
  assert.equal(back.iso, null);
  assert.ok(node.received.some((c) => c.serverId === id && c.op === 'detach_iso'));
  assert.equal((await h.http('DELETE', `/api/v1/admin/isos/${iso.id}`, { token: admin })).status, 204);
  const retired = (await h.http('POST', '/api/v1/admin/isos', { token: admin, body: { name: 'Old', url: 'https://x/old.iso', sha256: SHA, active: false } })).body;
  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'boot_iso', isoId: retired.id } })).status, 404, 'a retired ISO is not offered');
});
