/**
 * Verified images (issues 13 and 15) through the API with a simulated node: an image is offered to customers, and
 * can be ordered, only once a node of the location has fetched it and checked its sha256. The node's heartbeat has
 * it check the active images it has not checked; a mismatch keeps the node's reason and the image unoffered; staff
 * see each node's state and can ask again ("Verify now", audited); a new checksum takes the image off the shelf
 * until it is checked again; customers never see the staff-side state.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let admin: string;
let debianId: string;
let alpineId: string;
const MISMATCH = 'image file:///var/lib/oblako/images/alpine-3.20.qcow2 has sha256 0123, expected e3b0: not stored';

before(async () => {
  h = await startHarness({ env: { REQUIRE_VERIFIED_IMAGES: 'true' } });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  admin = await h.login(ADMIN.email, ADMIN.password);
  const images = (await h.http('GET', '/api/v1/admin/images', { token: admin })).body as { id: string; name: string }[];
  debianId = images.find((i) => i.name === 'Debian 12')!.id;
  alpineId = images.find((i) => i.name === 'Alpine 3.20')!.id;
});
after(async () => {
  await node?.stop();
  await h?.close();
});

const stateOn = async (imageId: string) => ((await h.http('GET', `/api/v1/admin/images/${imageId}/nodes`, { token: admin })).body as { nodeId: string; state: string; reason: string | null }[]).find((s) => s.nodeId === h.seed.nodeId)!;
const offered = async (token: string, query = '') => ((await h.http('GET', `/api/v1/images${query}`, { token })).body as { name: string }[]).map((i) => i.name);
const order = (token: string, imageId: string, hostname: string) => h.http('POST', '/api/v1/servers', { token, body: { planId: h.seed.planIds.small, imageId, locationId: h.seed.locationId, hostname } });

test('an image no node has verified is neither listed nor orderable; the refusal names the image', async () => {
  const a = await h.register('img-unverified');
  assert.deepEqual(await offered(a.token), []);
  assert.equal((await stateOn(debianId)).state, 'unverified');
  const r = await order(a.token, debianId, 'unverified-1');
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.code, 'image_unverified');
  assert.match(r.body.message, /"Debian 12" is not offered in .* yet: no node there has fetched it and verified its sha256/);
  assert.equal(r.body.details[0].field, 'imageId');
  assert.equal(await h.count('servers'), 0, 'nothing was made');
});

test('the heartbeat has the node check its images: verified ones are offered, a mismatch stays failed with its reason', async () => {
  node.imageAnswer = (cmd) => (cmd.imageId === alpineId ? { ok: false, reason: MISMATCH } : { ok: true });
  await node.heartbeat();
  await waitFor('both images checked on the node', async () => ((await stateOn(debianId)).state === 'verified' && (await stateOn(alpineId)).state === 'failed') || undefined, { timeoutMs: 15_000 });
  const reqs = node.imageRequests.filter((c) => c.imageId === debianId);
  assert.equal(reqs.length, 1);
  const [debian] = await h.ds.query('SELECT url, sha256, format FROM images WHERE id = $1', [debianId]);
  assert.deepEqual({ url: reqs[0]!.url, sha256: reqs[0]!.sha256, format: reqs[0]!.format }, { url: debian.url, sha256: debian.sha256.trim(), format: debian.format }, 'the node is sent where to fetch it and what to check');
  assert.equal((await stateOn(alpineId)).reason, MISMATCH);

  const a = await h.register('img-verified');
  assert.deepEqual(await offered(a.token), ['Debian 12']);
  assert.deepEqual(await offered(a.token, `?locationId=${h.seed.locationId}`), ['Debian 12']);
  const elsewhere = (await h.http('POST', '/api/v1/admin/locations', { token: admin, body: { code: 'img-empty', name: 'Empty DC', country: 'NL' } })).body;
  assert.deepEqual(await offered(a.token, `?locationId=${elsewhere.id}`), [], 'no node of that location has it');
  assert.equal((await h.http('GET', '/api/v1/images?locationId=nope', { token: a.token })).status, 400);

  const ok = await order(a.token, debianId, 'verified-1');
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const refused = await order(a.token, alpineId, 'mismatch-1');
  assert.equal(refused.status, 409);
  assert.match(refused.body.message, /"Alpine 3.20"/);

  // a later heartbeat does not download a failed image again by itself
  const before = node.imageRequests.length;
  await node.heartbeat();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(node.imageRequests.length, before);
});

test('customers see neither the per-node state nor where images come from', async () => {
  const a = await h.register('img-tenant');
  assert.equal((await h.http('GET', `/api/v1/admin/images/${debianId}/nodes`, { token: a.token })).status, 403);
  assert.equal((await h.http('POST', `/api/v1/admin/images/${alpineId}/nodes/${h.seed.nodeId}/verify`, { token: a.token })).status, 403);
  const [img] = (await h.http('GET', '/api/v1/images', { token: a.token })).body;
  for (const k of ['url', 'sha256', 'state', 'nodes']) assert.equal(img[k], undefined, k);
});

test('"Verify now" asks the node again (audited); once it checks out the image is offered', async () => {
  node.imageAnswer = () => ({ ok: true });
  assert.equal((await h.http('POST', `/api/v1/admin/images/${alpineId}/nodes/00000000-0000-4000-8000-000000000000/verify`, { token: admin })).status, 404);
  assert.equal((await h.http('POST', `/api/v1/admin/images/${alpineId}/nodes/not-a-node/verify`, { token: admin })).status, 400);
  const r = await h.http('POST', `/api/v1/admin/images/${alpineId}/nodes/${h.seed.nodeId}/verify`, { token: admin });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.ok(['verifying', 'verified'].includes(r.body.state));
  await waitFor('Alpine verified', async () => (await stateOn(alpineId)).state === 'verified' || undefined, { timeoutMs: 15_000 });
  assert.equal((await stateOn(alpineId)).reason, null);
  const a = await h.register('img-after');
  assert.deepEqual(await offered(a.token), ['Alpine 3.20', 'Debian 12']);
  const [audit] = await h.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'image.verify' AND target_id = $1 AND actor_kind = 'staff'`, [alpineId]);
  assert.equal(audit.n, 1);
});

test('a new checksum takes the image off the shelf until the node has checked the new file', async () => {
  node.imageAnswer = () => null; // the node is slow: it does not answer yet
  const patched = await h.http('PATCH', `/api/v1/admin/images/${alpineId}`, { token: admin, body: { sha256: 'c'.repeat(64) } });
  assert.equal(patched.status, 200);
  const a = await h.register('img-rechecked');
  assert.deepEqual(await offered(a.token), ['Debian 12']);
  assert.equal((await stateOn(alpineId)).state, 'unverified');
  await node.heartbeat();
  await waitFor('the new checksum requested', () => node.imageRequests.find((c) => c.imageId === alpineId && c.sha256 === 'c'.repeat(64)), { timeoutMs: 15_000 });
  assert.equal((await stateOn(alpineId)).state, 'verifying');
  assert.equal((await order(a.token, alpineId, 'rechecking-1')).status, 409, 'verifying is not verified');
  // an answer for the old checksum (late, or replayed) changes nothing
  const old = node.imageRequests.find((c) => c.imageId === alpineId && c.sha256 !== 'c'.repeat(64))!;
  await node.publish(h.seed.nodeId, 'image.state', { v: 1, requestId: old.requestId, nodeId: h.seed.nodeId, imageId: alpineId, sha256: old.sha256, ok: true, at: Date.now() });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await stateOn(alpineId)).state, 'verifying');
  assert.deepEqual(await offered(a.token), ['Debian 12']);
});

test('a rebuild, like an order, needs an image verified on the server\'s own node; a deprecated image serves its servers but no new order or rebuild', async () => {
  // Debian is verified on the node; Alpine's new checksum is still being checked there (the test before)
  const a = await h.register('img-rebuild');
  const created = await order(a.token, debianId, 'rebuild-verified-1');
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  const settled = () => waitFor('the server to settle', async () => {
    const r = await h.http('GET', `/api/v1/servers/${id}`, { token: a.token });
    return ['running', 'stopped'].includes(r.body.state) && !['queued', 'dispatched', 'running'].includes(r.body.currentTask?.state) ? r.body : undefined;
  }, { timeoutMs: 15_000, intervalMs: 20 });
  await settled();
  const act = (body: Record<string, unknown>) => h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body });
  const tasksBefore = await h.count('tasks');
  const refused = await act({ action: 'rebuild', imageId: alpineId });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.code, 'image_unverified');
  assert.match(refused.body.message, /"Alpine 3.20" is not verified on this server's node/);
  assert.equal(refused.body.details[0].field, 'imageId');
  assert.equal(await h.count('tasks'), tasksBefore, 'no task was made');
  assert.equal((await act({ action: 'rebuild', imageId: debianId })).status, 202);
  await settled();

  // deprecated: off the shelf, refused for orders and rebuilds by name, while the server itself keeps working
  assert.equal((await h.http('PATCH', `/api/v1/admin/images/${debianId}`, { token: admin, body: { active: false } })).status, 200);
  try {
    assert.ok(!(await offered(a.token)).includes('Debian 12'));
    const newOrder = await order(a.token, debianId, 'deprecated-1');
    assert.equal(newOrder.status, 409, JSON.stringify(newOrder.body));
    assert.equal(newOrder.body.code, 'image_deprecated');
    assert.match(newOrder.body.message, /"Debian 12" is deprecated/);
    const rebuild = await act({ action: 'rebuild' });
    assert.equal(rebuild.status, 409);
    assert.equal(rebuild.body.code, 'image_deprecated');
    assert.equal((await act({ action: 'stop' })).status, 202, 'the server made from it keeps working');
    const stopped = await settled();
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.image.name, 'Debian 12');
    assert.equal((await act({ action: 'start' })).status, 202);
    assert.equal((await settled()).state, 'running');
  } finally {
    await h.http('PATCH', `/api/v1/admin/images/${debianId}`, { token: admin, body: { active: true } });
  }
});

test('an image in use cannot be deleted (409 naming how many servers); an unused one is gone from every list and order, its name free again, the deleted servers\' history still names theirs', async () => {
  const [{ n }] = await h.ds.query(`SELECT count(*)::int AS n FROM servers WHERE image_id = $1 AND deleted_at IS NULL AND state <> 'deleted'`, [debianId]);
  assert.ok(n >= 2);
  const inUse = await h.http('DELETE', `/api/v1/admin/images/${debianId}`, { token: admin });
  assert.equal(inUse.status, 409, JSON.stringify(inUse.body));
  assert.equal(inUse.body.code, 'image_in_use');
  assert.match(inUse.body.message, new RegExp(`"Debian 12" is used by ${n} servers; deprecate it`));
  assert.ok((await h.http('GET', '/api/v1/admin/images', { token: admin })).body.some((i: { id: string }) => i.id === debianId), 'nothing changed');

  // a server once made from Alpine and since deleted keeps naming it after the image is deleted
  const a = await h.register('img-delete');
  const [srv] = await h.ds.query(
    `INSERT INTO servers (tenant_id, plan_id, image_id, location_id, hostname, state, vcpus, memory_mib, disk_gib, ssh_key_ids, deleted_at)
     SELECT $1, $2, $3, $4, 'gone-1', 'deleted', 1, 512, 10, '{}', now() RETURNING id`,
    [a.tenantId, h.seed.planIds.small, alpineId, h.seed.locationId]);
  assert.equal((await h.http('DELETE', `/api/v1/admin/images/${alpineId}`, { token: admin })).status, 204);
  assert.equal((await h.http('DELETE', `/api/v1/admin/images/${alpineId}`, { token: admin })).status, 404, 'deleted once');
  assert.ok(!(await h.http('GET', '/api/v1/admin/images', { token: admin })).body.some((i: { id: string }) => i.id === alpineId));
  assert.equal((await h.http('PATCH', `/api/v1/admin/images/${alpineId}`, { token: admin, body: { active: true } })).status, 404);
  assert.equal((await h.http('GET', `/api/v1/admin/images/${alpineId}/nodes`, { token: admin })).status, 404);
  assert.equal((await order(a.token, alpineId, 'deleted-image-1')).status, 404);
  assert.deepEqual(await h.ds.query('SELECT * FROM image_node_states WHERE image_id = $1', [alpineId]), [], 'its per-node states are gone');
  const view = await h.http('GET', `/api/v1/servers/${srv.id}`, { token: a.token });
  assert.equal(view.body.image?.name, 'Alpine 3.20');
  const [audit] = await h.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'image.delete' AND target_id = $1`, [alpineId]);
  assert.equal(audit.n, 1);
  const again = await h.http('POST', '/api/v1/admin/images', { token: admin, body: { name: 'Alpine 3.20', osFamily: 'alpine', version: '3.20', url: 'https://images.example/alpine.qcow2', sha256: 'd'.repeat(64), format: 'qcow2' } });
  assert.equal(again.status, 201, JSON.stringify(again.body));
});
