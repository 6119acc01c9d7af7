import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';
let h: Harness;
let staff: string;

before(async () => {
  h = await startHarness();
  staff = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await h?.close();
});

const base = '/api/v1/admin/backup-stores';
const good = (over: Record<string, unknown> = {}) => ({
  locationId: h.seed.locationId, name: 'fra1-backup-1', host: 'backup1.example.net', port: 22, username: 'oblako', basePath: '/srv/oblako-backups/',
  hostKey: `backup1.example.net ${KEY}`, ...over,
});

test('backup stores: staff create, list, edit, disable and delete; every field is checked with a message that says what to fix; audited', async () => {
  // every bad field answers 400 and names that field
  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{ host: '-oProxyCommand=x' }, 'host', /host name or an IP address/],
    [{ host: 'a..b' }, 'host', /empty labels/],
    [{ port: 0 }, 'port', /1 to 65535|1-65535|from 1/],
    [{ port: 70000 }, 'port', /65535/],
    [{ port: 22.5 }, 'port', /whole number/],
    [{ basePath: 'srv/backups' }, 'basePath', /absolute/],
    [{ basePath: '/srv/../etc' }, 'basePath', /"\.\."/],
    [{ basePath: '/srv/back ups;rm' }, 'basePath', /only letters/],
    [{ basePath: '/' }, 'basePath', /root folder/],
    [{ username: 'root;id' }, 'username', /login name/],
    [{ hostKey: undefined }, 'hostKey', /required/],
    [{ hostKey: '' }, 'hostKey', /required/],
    [{ hostKey: 'backup1.example.net ssh-ed25519 AAAA' }, 'hostKey', /truncated|base64/],
    [{ hostKey: `other.example.net ${KEY}` }, 'hostKey', /but the store is backup1.example.net/],
    [{ name: '  ' }, 'name', /empty/],
    [{ kind: 's3' }, 'kind', /sftp/],
    [{ locationId: 'nope' }, 'locationId', /UUID/],
  ];
  for (const [over, field, message] of bad) {
    const r = await h.http('POST', base, { token: staff, body: good(over) });
    assert.equal(r.status, 400, `${JSON.stringify(over)}: ${JSON.stringify(r.body)}`);
    assert.match(JSON.stringify(r.body), new RegExp(field), `${JSON.stringify(over)} names ${field}`);
    assert.match(r.body.message + JSON.stringify(r.body.details ?? ''), message, JSON.stringify(over));
  }
  const noLoc = await h.http('POST', base, { token: staff, body: good({ locationId: '00000000-0000-4000-8000-000000000000' }) });
  assert.equal(noLoc.status, 404);
  assert.equal(await h.count('backup_stores'), 0, 'nothing was stored by a refused request');

  // a customer is no staff
  const customer = await h.register('stores');
  assert.equal((await h.http('GET', base, { token: customer.token })).status, 403);
  assert.equal((await h.http('POST', base, { token: customer.token, body: good() })).status, 403);

  const created = await h.http('POST', base, { token: staff, body: good() });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const store = created.body;
  assert.equal(store.kind, 'sftp');
  assert.equal(store.basePath, '/srv/oblako-backups', 'trailing slash dropped');
  assert.equal(store.hostKey, `backup1.example.net ${KEY}`);
  assert.match(store.hostKeyFingerprint, /^SHA256:/);
  assert.equal(store.enabled, true);
  assert.equal(store.backupCount, 0);
  const dup = await h.http('POST', base, { token: staff, body: good({ name: 'FRA1-backup-1' }) });
  assert.equal(dup.status, 409, JSON.stringify(dup.body));
  assert.match(dup.body.message, /exists already/);

  const listed = await h.http('GET', base, { token: staff });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.map((s: { id: string }) => s.id), [store.id]);

  // a new port re-pins the same key to [host]:port; a key for the old name is refused on the new port
  const moved = await h.http('PATCH', `${base}/${store.id}`, { token: staff, body: { port: 2222 } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.body.hostKey, `[backup1.example.net]:2222 ${KEY}`);
  assert.equal(moved.body.hostKeyFingerprint, store.hostKeyFingerprint);
  const wrongKey = await h.http('PATCH', `${base}/${store.id}`, { token: staff, body: { hostKey: `backup1.example.net ${KEY}` } });
  assert.equal(wrongKey.status, 400);
  assert.match(wrongKey.body.message, /\[backup1.example.net\]:2222/);
  const badPath = await h.http('PATCH', `${base}/${store.id}`, { token: staff, body: { basePath: '/a/./b' } });
  assert.equal(badPath.status, 400);
  const disabled = await h.http('PATCH', `${base}/${store.id}`, { token: staff, body: { enabled: false } });
  assert.equal(disabled.status, 200);
  assert.equal(disabled.body.enabled, false);
  assert.equal((await h.http('GET', `${base}/${store.id}`, { token: staff })).body.enabled, false);

  const audit: { action: string; details: Record<string, unknown> }[] = await h.ds.query(`SELECT action, details FROM audit_log WHERE target_id = $1 ORDER BY id`, [store.id]);
  assert.deepEqual(audit.map((a) => a.action), ['backup_store.create', 'backup_store.update', 'backup_store.update']);
  assert.deepEqual(audit[1]!.details, { port: 2222 });
  assert.deepEqual(audit[2]!.details, { enabled: false });

  assert.equal((await h.http('DELETE', `${base}/${store.id}`, { token: staff })).status, 204);
  assert.equal((await h.http('GET', `${base}/${store.id}`, { token: staff })).status, 404);
  assert.equal((await h.http('DELETE', `${base}/${store.id}`, { token: staff })).status, 404);
  const deleted = await h.ds.query(`SELECT 1 FROM audit_log WHERE target_id = $1 AND action = 'backup_store.delete'`, [store.id]);
  assert.equal(deleted.length, 1);
});

test('a backup store that holds backups cannot be deleted, only disabled (409)', async () => {
  const store = (await h.http('POST', base, { token: staff, body: good({ name: 'holds-backups' }) })).body;
  const owner = await h.register('store-holder');
  const node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  const serverId = await h.orderRunning(owner.token, 'held-1').finally(() => node.stop());
  await h.ds.query(
    `INSERT INTO backups (id, tenant_id, server_id, server_name, store_id, node_id, state, kind, trigger, size_bytes, bytes_moved, duration_ms, created_at)
     VALUES (gen_random_uuid(), $1, $2, 'held-1', $3, $4, 'ready', 'full', 'manual', 1024, 1024, 10, now())`,
    [owner.tenantId, serverId, store.id, h.seed.nodeId],
  );
  // and a failed one: counted (it blocks the delete too) but it holds no bytes
  await h.ds.query(
    `INSERT INTO backups (id, tenant_id, server_id, server_name, store_id, node_id, state, kind, trigger, size_bytes, bytes_moved, created_at)
     VALUES (gen_random_uuid(), $1, $2, 'held-1', $3, $4, 'failed', 'full', 'scheduled', 0, 0, now())`,
    [owner.tenantId, serverId, store.id, h.seed.nodeId],
  );
  const held = (await h.http('GET', `${base}/${store.id}`, { token: staff })).body;
  assert.deepEqual([held.backupCount, held.readyBackupCount, held.usedBytes], [2, 1, 1024], 'per-store usage: all backups, the ready ones, their bytes');
  const listed = (await h.http('GET', base, { token: staff })).body.find((s: { id: string }) => s.id === store.id);
  assert.deepEqual([listed.backupCount, listed.readyBackupCount, listed.usedBytes], [2, 1, 1024], 'the list says the same');
  const refused = await h.http('DELETE', `${base}/${store.id}`, { token: staff });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.code, 'backup_store_in_use');
  assert.match(refused.body.message, /Disable it instead/);
  assert.equal((await h.http('PATCH', `${base}/${store.id}`, { token: staff, body: { enabled: false } })).status, 200);
});
