import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeCommand } from '@oblako/contracts';
import { SnapshotExpiry } from '../src/snapshots/snapshots.service.js';
import { FakeNode, type FakeOutcome } from './support/fake-node.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
const scripted = new Map<string, (cmd: NodeCommand) => FakeOutcome | null>();
const GiB = 1024 ** 3;

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => scripted.get(cmd.op)?.(cmd) ?? (cmd.op === 'snapshot_create' ? { ok: true, output: { bytes: 1.5 * GiB } } : { ok: true }));
});
after(async () => {
  await node?.stop();
  await h?.close();
});



const usedDisk = async (): Promise<number> => (await h.ds.query(`SELECT used_disk_gib FROM nodes WHERE id = $1`, [h.seed.nodeId]))[0].used_disk_gib;

test('snapshots: create, list, revert, delete through the API; the plan limit, node disk, another tenant and bad input', async () => {
  const a = await h.register('snap');
  const b = await h.register('snap-other');
  const id = await h.orderRunning(a.token, 'snap-1');
  const base = `/api/v1/servers/${id}/snapshots`;
  const disk0 = await usedDisk();

  // bad input names the field
  const blank = await h.http('POST', base, { token: a.token, body: { name: '   ' } });
  assert.equal(blank.status, 400);
  assert.match(JSON.stringify(blank.body), /name/);
  const badExpiry = await h.http('POST', base, { token: a.token, body: { name: 'x', expiresInHours: 0 } });
  assert.equal(badExpiry.status, 400);
  assert.match(JSON.stringify(badExpiry.body), /expiresInHours/);

  const created = await h.http('POST', base, { token: a.token, body: { name: 'before upgrade' } });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  assert.equal(created.body.state, 'creating');
  assert.equal(created.body.withMemory, true, 'taken of a running server');
  const snapId: string = created.body.id;
  await h.waitIdle(a.token, id, 'running');
  const cmd = node.received.find((c) => c.op === 'snapshot_create' && c.serverId === id);
  assert.deepEqual((cmd as { snapshot: unknown }).snapshot, { id: snapId }, 'the node is told the snapshot id');
  const listed = await h.http('GET', base, { token: a.token });
  assert.equal(listed.status, 200);
  assert.equal(listed.body.length, 1);
  assert.equal(listed.body[0].state, 'ready');
  assert.equal(listed.body[0].sizeBytes, 1.5 * GiB);
  assert.equal(await usedDisk(), disk0 + 2, '1.5 GiB of snapshot counts as 2 GiB of the node\'s disk');

  // another tenant sees nothing and can touch nothing
  assert.equal((await h.http('GET', base, { token: b.token })).status, 404);
  assert.equal((await h.http('POST', base, { token: b.token, body: { name: 'mine' } })).status, 404);
  assert.equal((await h.http('POST', `${base}/${snapId}/revert`, { token: b.token })).status, 404);
  assert.equal((await h.http('DELETE', `${base}/${snapId}`, { token: b.token })).status, 404);
  // an unknown snapshot of one's own server: 404 too
  assert.equal((await h.http('POST', `${base}/00000000-0000-4000-8000-000000000000/revert`, { token: a.token })).status, 404);

  // a rebuild would replace the disk under the snapshots: refused while there are any
  const rebuild = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'rebuild' } });
  assert.equal(rebuild.status, 409, JSON.stringify(rebuild.body));
  assert.equal(rebuild.body.code, 'snapshots_exist');

  // revert: a snapshot of a paused guest comes back paused (the node says so)
  scripted.set('snapshot_revert', () => ({ ok: true, domainState: 'paused' }));
  const reverting = await h.http('POST', `${base}/${snapId}/revert`, { token: a.token });
  assert.equal(reverting.status, 202, JSON.stringify(reverting.body));
  assert.equal(reverting.body.state, 'snapshotting');
  await h.waitIdle(a.token, id, 'paused');
  scripted.set('snapshot_revert', () => ({ ok: true, domainState: 'running' }));
  await h.http('POST', `${base}/${snapId}/revert`, { token: a.token });
  await h.waitIdle(a.token, id, 'running');
  scripted.delete('snapshot_revert');

  // the plan's limit (3 by default)
  for (const n of ['two', 'three']) {
    assert.equal((await h.http('POST', base, { token: a.token, body: { name: n } })).status, 202);
    await h.waitIdle(a.token, id, 'running');
  }
  const over = await h.http('POST', base, { token: a.token, body: { name: 'four' } });
  assert.equal(over.status, 409);
  assert.equal(over.body.code, 'snapshot_limit');
  assert.match(over.body.message, /allows 3 snapshots/);

  // a failed create leaves no row and gives nothing of the disk away
  const disk3 = await usedDisk();
  await h.http('DELETE', `${base}/${snapId}`, { token: a.token });
  await h.waitIdle(a.token, id, 'running');
  assert.equal(await usedDisk(), disk3 - 2, 'a deleted snapshot gives its space back');
  scripted.set('snapshot_create', () => ({ ok: false, error: { code: 'host_error', message: 'no space left on device' } }));
  await h.http('POST', base, { token: a.token, body: { name: 'fails' } });
  const failed = await h.waitIdle(a.token, id, 'running');
  assert.equal(failed.currentTask.state, 'failed');
  assert.match(failed.currentTask.error, /no space left/);
  scripted.delete('snapshot_create');
  const after = await h.http('GET', base, { token: a.token });
  assert.deepEqual(after.body.map((s: { name: string }) => s.name).sort(), ['three', 'two']);

  // a failed delete keeps the snapshot ready
  scripted.set('snapshot_delete', () => ({ ok: false, error: { code: 'host_error', message: 'qemu said no' } }));
  await h.http('DELETE', `${base}/${after.body[0].id}`, { token: a.token });
  await h.waitIdle(a.token, id, 'running');
  scripted.delete('snapshot_delete');
  assert.equal((await h.http('GET', base, { token: a.token })).body.find((s: { id: string }) => s.id === after.body[0].id).state, 'ready');

  // a node with no disk left refuses a snapshot
  await h.http('DELETE', `${base}/${after.body[0].id}`, { token: a.token });
  await h.waitIdle(a.token, id, 'running');
  const diskNow = await usedDisk();
  await h.ds.query(`UPDATE nodes SET used_disk_gib = disk_gib WHERE id = $1`, [h.seed.nodeId]);
  try {
    const full = await h.http('POST', base, { token: a.token, body: { name: 'no room' } });
    assert.equal(full.status, 409);
    assert.equal(full.body.code, 'node_disk_full');
  } finally {
    await h.ds.query(`UPDATE nodes SET used_disk_gib = $2 WHERE id = $1`, [h.seed.nodeId, diskNow]);
  }

  // deleting the server forgets its snapshots and gives their space back
  const beforeDelete = await usedDisk();
  await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token });
  await h.waitIdle(a.token, id, 'deleted');
  assert.equal((await h.ds.query(`SELECT count(*)::int AS n FROM server_snapshots WHERE server_id = $1`, [id]))[0].n, 0);
  assert.ok((await usedDisk()) <= beforeDelete - 2, 'the last snapshot\'s 2 GiB went back with the server');
});

test('an expired snapshot is deleted by the system; one that has not expired stays', async () => {
  const a = await h.register('snap-expiry');
  const id = await h.orderRunning(a.token, 'snap-exp');
  const base = `/api/v1/servers/${id}/snapshots`;
  const keep = await h.http('POST', base, { token: a.token, body: { name: 'keep', expiresInHours: 24 } });
  await h.waitIdle(a.token, id, 'running');
  const old = await h.http('POST', base, { token: a.token, body: { name: 'old', expiresInHours: 1 } });
  await h.waitIdle(a.token, id, 'running');
  assert.ok(keep.body.expiresAt && Date.parse(keep.body.expiresAt) > Date.now() + 23 * 3600_000);
  await h.ds.query(`UPDATE server_snapshots SET expires_at = now() - interval '1 minute' WHERE id = $1`, [old.body.id]);
  assert.equal(await h.api.app.get(SnapshotExpiry).sweep(), 1);
  await h.waitIdle(a.token, id, 'running');
  const left = await h.http('GET', base, { token: a.token });
  assert.deepEqual(left.body.map((s: { name: string }) => s.name), ['keep']);
  const audit: { actor_kind: string }[] = await h.ds.query(`SELECT actor_kind FROM audit_log WHERE target_id = $1 AND action = 'server.snapshot_delete'`, [id]);
  assert.deepEqual(audit.map((r) => r.actor_kind), ['system']);
});
