/**
 * What an image needs of a plan, and an image delete racing an order (issue 13), through the API with a simulated
 * node. An order, a rebuild or a resize whose plan disk is smaller than the image's own disk (the virtual size the
 * verifying node reported) or staff's minimum, or whose memory is below staff's minimum, is refused with 409
 * `plan_too_small` naming both sizes, before any node is asked. An order and a delete of the same image at the same
 * instant never leave a server on a deleted image: the order wins (the delete is 409 image_in_use) or the delete
 * wins (the order is 404 image_not_found).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

const GiB = 1024 ** 3;
let h: Harness;
let node: FakeNode;
let admin: string;
/** Virtual sizes the simulated node reports per image id. */
const virtualBytes = new Map<string, number>();

before(async () => {
  h = await startHarness({ env: { REQUIRE_VERIFIED_IMAGES: 'true' } });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  node.imageAnswer = (cmd) => ({ ok: true, ...(virtualBytes.has(cmd.imageId) ? { virtualBytes: virtualBytes.get(cmd.imageId)! } : {}) });
  admin = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await node?.stop();
  await h?.close();
});

const stateOn = async (imageId: string) => ((await h.http('GET', `/api/v1/admin/images/${imageId}/nodes`, { token: admin })).body as { nodeId: string; state: string }[]).find((s) => s.nodeId === h.seed.nodeId)!;
/** Staff add an image; the node verifies it (reporting `virtual` bytes when given). */
async function addImage(name: string, extra: Record<string, unknown> = {}, virtual?: number): Promise<string> {
  const r = await h.http('POST', '/api/v1/admin/images', {
    token: admin,
    body: { name, osFamily: 'linux', version: '1', url: `https://images.example/${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.qcow2`, sha256: randomBytes(32).toString('hex'), format: 'qcow2', ...extra },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  if (virtual !== undefined) virtualBytes.set(r.body.id, virtual);
  await node.heartbeat();
  await waitFor(`${name} verified`, async () => ((await stateOn(r.body.id)).state === 'verified') || undefined, { timeoutMs: 15_000 });
  return r.body.id as string;
}
const order = (token: string, imageId: string, planId: string, hostname: string) =>
  h.http('POST', '/api/v1/servers', { token, body: { planId, imageId, locationId: h.seed.locationId, hostname } });

test('a plan disk smaller than the image\'s own disk (as the node reported it) is refused, naming both sizes; a larger plan is ordered', async () => {
  const id = await addImage('Big Disk OS', {}, 40 * GiB);
  const a = await h.register('fit-disk');
  const listed = ((await h.http('GET', '/api/v1/images', { token: a.token })).body as { id: string; virtualSizeBytes: number | null; minDiskGiB: number }[]).find((i) => i.id === id)!;
  assert.equal(listed.virtualSizeBytes, 40 * GiB, 'customers see what the image needs (the panel greys plans out by it)');
  assert.equal(listed.minDiskGiB, 0);

  const small = await order(a.token, id, h.seed.planIds.small, 'fit-small');
  assert.equal(small.status, 409, JSON.stringify(small.body));
  assert.equal(small.body.code, 'plan_too_small');
  assert.match(small.body.message, /The plan "Small" has a 20 GiB disk, but the image "Big Disk OS" needs at least 40 GiB \(its disk is 40 GiB\)/);
  assert.equal(small.body.details[0].field, 'planId');
  assert.equal(await h.count('servers'), 0, 'nothing was made, no node was asked');

  const medium = await order(a.token, id, h.seed.planIds.medium, 'fit-medium');
  assert.equal(medium.status, 201, JSON.stringify(medium.body));
});

test('staff minimum disk and memory are refused the same way; bad minimums are a 400 naming the field', async () => {
  const id = await addImage('Needy OS', { minDiskGiB: 30, minMemoryMiB: 8192 });
  const a = await h.register('fit-min');
  const disk = await order(a.token, id, h.seed.planIds.small, 'min-small');
  assert.equal(disk.status, 409);
  assert.match(disk.body.message, /20 GiB disk, but the image "Needy OS" needs at least 30 GiB \(staff set a minimum of 30 GiB\)/);
  const memory = await order(a.token, id, h.seed.planIds.medium, 'min-medium');
  assert.equal(memory.status, 409);
  assert.equal(memory.body.code, 'plan_too_small');
  assert.match(memory.body.message, /The plan "Medium" has 4096 MiB of memory, but the image "Needy OS" needs at least 8192 MiB/);
  assert.equal((await order(a.token, id, h.seed.planIds.large, 'min-large')).status, 201);

  const bad = await h.http('PATCH', `/api/v1/admin/images/${id}`, { token: admin, body: { minDiskGiB: -1, minMemoryMiB: 1.5 } });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /minDiskGiB must be 0 or more/);
  assert.match(JSON.stringify(bad.body), /minMemoryMiB must be a whole number of MiB/);
});

test('a rebuild to an image larger than the server\'s disk is refused; a staff resize below the image\'s memory too', async () => {
  const big = await addImage('Rebuild Big OS', {}, 25 * GiB);
  const needy = await addImage('Rebuild Needy OS', { minMemoryMiB: 4096 });
  const a = await h.register('fit-rebuild');
  const id = await h.orderRunning(a.token, 'fit-rb');
  const act = (body: Record<string, unknown>, token = a.token) => h.http('POST', `/api/v1/servers/${id}/actions`, { token, body });
  const r = await act({ action: 'rebuild', imageId: big });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.match(r.body.message, /This server has a 20 GiB disk, but the image "Rebuild Big OS" needs at least 25 GiB/);
  assert.equal((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.image.id, h.seed.imageIds[0], 'the server keeps its image');

  // on the medium plan (4096 MiB) it fits the needy image; staff moving it to a plan with the same disk and 1024 MiB is refused
  const up = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.medium } });
  assert.equal(up.status, 202, JSON.stringify(up.body));
  await h.waitIdle(a.token, id, 'running');
  const rb = await act({ action: 'rebuild', imageId: needy });
  assert.equal(rb.status, 202, JSON.stringify(rb.body));
  await h.waitIdle(a.token, id, 'running');
  const lean = await h.http('POST', '/api/v1/admin/plans', { token: admin, body: { name: 'Lean', vcpus: 2, memoryMiB: 1024, diskGiB: 60, priceMonthlyCents: 900 } });
  assert.equal(lean.status, 201, JSON.stringify(lean.body));
  const down = await h.http('POST', `/api/v1/admin/servers/${id}/resize`, { token: admin, body: { planId: lean.body.id } });
  assert.equal(down.status, 409, JSON.stringify(down.body));
  assert.equal(down.body.code, 'plan_too_small');
  assert.match(down.body.message, /The plan "Lean" has 1024 MiB of memory, but the image "Rebuild Needy OS" needs at least 4096 MiB/);
});

test('a new checksum forgets the old file\'s size until a node verifies the new one', async () => {
  const id = await addImage('Rechecked OS', {}, 30 * GiB);
  const view = async () => ((await h.http('GET', '/api/v1/admin/images', { token: admin })).body as { id: string; virtualSizeBytes: number | null }[]).find((i) => i.id === id)!;
  assert.equal((await view()).virtualSizeBytes, 30 * GiB);
  virtualBytes.set(id, 10 * GiB);
  const p = await h.http('PATCH', `/api/v1/admin/images/${id}`, { token: admin, body: { sha256: randomBytes(32).toString('hex') } });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal((await view()).virtualSizeBytes, null);
  await node.heartbeat();
  await waitFor('new checksum verified', async () => ((await stateOn(id)).state === 'verified') || undefined, { timeoutMs: 15_000 });
  assert.equal((await view()).virtualSizeBytes, 10 * GiB);
  const a = await h.register('fit-recheck');
  assert.equal((await order(a.token, id, h.seed.planIds.small, 'recheck-small')).status, 201);
});

test('an order and a delete of the same image at the same instant: never a server on a deleted image', async () => {
  const a = await h.register('fit-race');
  const outcomes = { orderWon: 0, deleteWon: 0 };
  for (let i = 0; i < 12; i++) {
    const id = await addImage(`Race OS ${i}`);
    const [o, d] = await Promise.all([
      order(a.token, id, h.seed.planIds.small, `race-${i}`),
      h.http('DELETE', `/api/v1/admin/images/${id}`, { token: admin, body: { confirm: `Race OS ${i}` } }),
    ]);
    const [{ deleted, servers }] = await h.ds.query(
      `SELECT (SELECT deleted_at IS NOT NULL FROM images WHERE id = $1) AS deleted, (SELECT count(*)::int FROM servers WHERE image_id = $1) AS servers`, [id]);
    if (o.status === 201) {
      assert.equal(d.status, 409, `round ${i}: the order made a server, so the delete must be refused: ${JSON.stringify(d.body)}`);
      assert.equal(d.body.code, 'image_in_use');
      assert.deepEqual({ deleted, servers }, { deleted: false, servers: 1 });
      outcomes.orderWon++;
    } else {
      assert.equal(o.status, 404, `round ${i}: ${JSON.stringify(o.body)}`);
      assert.equal(o.body.code, 'image_not_found');
      assert.ok(d.status === 204 || d.status === 200, `round ${i}: ${d.status} ${JSON.stringify(d.body)}`);
      assert.deepEqual({ deleted, servers }, { deleted: true, servers: 0 });
      outcomes.deleteWon++;
    }
  }
  console.log(`# race outcomes over 12 rounds: ${JSON.stringify(outcomes)}`);
});
