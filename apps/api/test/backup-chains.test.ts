import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { NodeCommand } from '@oblako/contracts';
import { FakeNode, type FakeOutcome } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

/**
 * The chain rules of incremental backups (DESIGN.md "Incremental backups"), with a fake node that makes what it is
 * asked for: the first backup is full, the next ones incremental against the newest ready one; a new full chain (with
 * its reason) after a restore in place, at the chain's limit, for a stopped server, on another node, or when the node
 * itself made a full one; a restore carries the chain; a parent is not deleted while an incremental needs it.
 */
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';
const shaOf = (id: string) => createHash('sha256').update(id).digest('hex');
let h: Harness;
let node: FakeNode;
let staff: string;
const scripted = new Map<string, (cmd: NodeCommand) => FakeOutcome | null>();

/** The fake node makes what it was asked: an incremental when the command names a parent, else a full backup. */
function makeBackup(cmd: NodeCommand): FakeOutcome {
  if (cmd.op !== 'backup_create') return { ok: true };
  const out: Record<string, string | number> = { bytes: cmd.incrementalOf ? 1000 : 1_000_000, sha256: shaOf(cmd.backup.id), durationMs: 10, kind: cmd.incrementalOf ? 'incremental' : 'full' };
  if (cmd.incrementalOf) out['parentBackupId'] = cmd.incrementalOf;
  return { ok: true, output: out };
}

before(async () => {
  h = await startHarness();
  staff = await h.login(ADMIN.email, ADMIN.password);
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => (scripted.has(cmd.op) ? scripted.get(cmd.op)!(cmd)
    : cmd.op === 'stop' ? { ok: true, domainState: 'shutoff' } : cmd.op === 'start' || cmd.op === 'backup_restore' ? { ok: true, domainState: 'running' } : makeBackup(cmd)));
  const store = await h.http('POST', '/api/v1/admin/backup-stores', { token: staff, body: {
    locationId: h.seed.locationId, name: 'chain-store', host: 'backup1.example.net', port: 22, username: 'oblako', basePath: '/srv/oblako-backups', hostKey: `backup1.example.net ${KEY}`,
  } });
  assert.equal(store.status, 201, JSON.stringify(store.body));
});
after(async () => {
  await node?.stop();
  await h?.close();
});

test('backup chains: full, then incrementals against the newest ready one; the restore carries the chain; a parent with children stays; a new chain after a restore, at the limit, stopped, on another node, or when the node made a full one', async () => {
  const a = await h.register('chain');
  const other = await h.register('chain-other');
  const id = await h.orderRunning(a.token, 'chain-1');
  const base = `/api/v1/servers/${id}/backups`;
  const sent = () => node.received.filter((c): c is Extract<NodeCommand, { op: 'backup_create' }> => c.op === 'backup_create' && c.serverId === id).at(-1)!;
  const backUp = async () => {
    const r = await h.http('POST', base, { token: a.token });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await h.waitIdle(a.token, id, 'running');
    return (await h.http('GET', `${base}/${r.body.id}`, { token: a.token })).body;
  };

  const full = await backUp();
  assert.equal(sent().incrementalOf, undefined, 'the first backup is full');
  assert.deepEqual([full.state, full.kind, full.parentId, full.fullReason], ['ready', 'full', null, null]);
  const i1 = await backUp();
  assert.equal(sent().incrementalOf, full.id);
  assert.deepEqual([i1.state, i1.kind, i1.parentId], ['ready', 'incremental', full.id]);
  const i2 = await backUp();
  assert.deepEqual([i2.kind, i2.parentId], ['incremental', i1.id]);

  // a parent with live children is not deleted (nor by another tenant, who sees nothing)
  const refused = await h.http('DELETE', `${base}/${i1.id}`, { token: a.token });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.code, 'backup_has_children');
  assert.match(refused.body.message, /later incremental backup builds on this backup; delete it first/);
  assert.equal((await h.http('DELETE', `/api/v1/backups/${full.id}`, { token: a.token })).status, 409);
  assert.equal((await h.http('DELETE', `${base}/${i1.id}`, { token: other.token })).status, 404);
  assert.equal((await h.http('GET', `${base}/${i1.id}`, { token: a.token })).body.state, 'ready', 'the refusal changed nothing');

  // a restore of an incremental carries its chain, oldest first, each with its recorded checksum
  const restoring = await h.http('POST', `${base}/${i2.id}/restore`, { token: a.token });
  assert.equal(restoring.status, 202, JSON.stringify(restoring.body));
  await h.waitIdle(a.token, id, 'running');
  const restore = node.received.filter((c): c is Extract<NodeCommand, { op: 'backup_restore' }> => c.op === 'backup_restore' && c.serverId === id).at(-1)!;
  assert.deepEqual(restore.backup, {
    id: i2.id, serverId: id, sha256: shaOf(i2.id),
    parents: [{ id: full.id, serverId: id, sha256: shaOf(full.id) }, { id: i1.id, serverId: id, sha256: shaOf(i1.id) }],
  });

  // after a restore in place the chain is in doubt: a new full chain, saying why
  const afterRestore = await backUp();
  assert.equal(sent().incrementalOf, undefined);
  assert.deepEqual([afterRestore.kind, afterRestore.parentId], ['full', null]);
  assert.match(afterRestore.fullReason, /a backup restore ran since the last backup/);

  // the chain's limit (staff's incrementalChainMax, here 3 backups): the fourth starts a new chain
  const settings = '/api/v1/admin/settings/backups';
  assert.equal((await h.http('GET', settings, { token: staff })).body.incrementalChainMax, 7, 'the default');
  const bad = await h.http('PUT', settings, { token: staff, body: { deletedServerGraceDays: 7, incrementalChainMax: 0 } });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.match(JSON.stringify(bad.body), /incrementalChainMax must be from 1 to 30/);
  assert.equal((await h.http('PUT', settings, { token: staff, body: { deletedServerGraceDays: 7, incrementalChainMax: 3 } })).status, 200);
  const kept = await h.http('PUT', settings, { token: staff, body: { deletedServerGraceDays: 9 } });
  assert.deepEqual(kept.body, { deletedServerGraceDays: 9, incrementalChainMax: 3 }, 'a PUT without it keeps the stored one');
  assert.equal((await h.http('PUT', settings, { token: a.token, body: { deletedServerGraceDays: 7, incrementalChainMax: 30 } })).status, 403, 'customers are not staff');
  const c1 = await backUp();
  const c2 = await backUp();
  assert.deepEqual([c1.parentId, c2.parentId], [afterRestore.id, c1.id]);
  const c3 = await backUp();
  assert.deepEqual([c3.kind, c3.parentId], ['full', null]);
  assert.match(c3.fullReason, /the chain has 3 backups, the most it may have is 3/);

  // the node could not follow (its checkpoint was gone): what it made is recorded, with its reason
  scripted.set('backup_create', (cmd) => (cmd.op === 'backup_create' ? { ok: true, output: { bytes: 1_000_000, sha256: shaOf(cmd.backup.id), durationMs: 10, kind: 'full', fullBecause: 'this node holds no checkpoint of backup x' } } : null));
  const byNode = await backUp();
  assert.equal(sent().incrementalOf, c3.id, 'an incremental was asked for');
  assert.deepEqual([byNode.kind, byNode.parentId, byNode.fullReason], ['full', null, 'this node holds no checkpoint of backup x']);
  // a node that claims another parent than the one asked for: refused, the backup failed
  scripted.set('backup_create', (cmd) => (cmd.op === 'backup_create' ? { ok: true, output: { bytes: 1000, sha256: shaOf(cmd.backup.id), durationMs: 10, kind: 'incremental', parentBackupId: full.id } } : null));
  const liar = await backUp();
  assert.equal(liar.state, 'failed');
  assert.match(liar.error, /invalid_result: the node made an incremental against/);
  scripted.delete('backup_create');
  // a failed backup is not a parent: the next one follows the newest ready one
  const afterFailed = await backUp();
  assert.deepEqual([afterFailed.kind, afterFailed.parentId], ['incremental', byNode.id]);

  // the server moved to another node since the last backup: a new chain
  await h.ds.query(`UPDATE backups SET node_id = gen_random_uuid() WHERE id = $1`, [afterFailed.id]);
  const moved = await backUp();
  assert.deepEqual([moved.kind, moved.parentId], ['full', null]);
  assert.match(moved.fullReason, /moved to another node/);

  // a stopped server is copied whole (qemu-img), with no checkpoint to follow
  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } })).status, 202);
  await h.waitIdle(a.token, id, 'stopped');
  const r = await h.http('POST', base, { token: a.token });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await h.waitIdle(a.token, id, 'stopped');
  const stopped = (await h.http('GET', `${base}/${r.body.id}`, { token: a.token })).body;
  assert.equal(sent().incrementalOf, undefined);
  assert.deepEqual([stopped.kind, stopped.parentId], ['full', null]);
  assert.match(stopped.fullReason, /stopped/);

  // the leaf goes first, then its parent may go
  assert.equal((await h.http('DELETE', `${base}/${i2.id}`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, id, 'stopped');
  assert.equal((await h.http('DELETE', `${base}/${i1.id}`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, id, 'stopped');
  const left = (await h.http('GET', base, { token: a.token })).body.map((b: { id: string }) => b.id);
  assert.ok(!left.includes(i1.id) && !left.includes(i2.id) && left.includes(full.id), JSON.stringify(left));
});
