import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { subjects, WIRE_VERSION, type NodeCommand } from '@oblako/contracts';
import { TEST_NATS_URL } from '@oblako/testing';
import { BACKUP_ENGINE, BackupPolicyClock, BackupScheduler, type BackupEngine } from '../src/backup-policy/backup-scheduler.service.js';
import { BackupsEngineAdapter } from '../src/backups/backups-engine.adapter.js';
import { BackupsService } from '../src/backups/backups.service.js';
import { FakeNode, type FakeOutcome } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness, type HttpResult } from './support/harness.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';
const SHA = 'a'.repeat(64);
let h: Harness;
let node: FakeNode;
let staff: string;
const scripted = new Map<string, (cmd: NodeCommand) => FakeOutcome | null>();

before(async () => {
  h = await startHarness();
  staff = await h.login(ADMIN.email, ADMIN.password);
  // a scripted op answers what its script says, null included (the node holds the command unanswered)
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => (scripted.has(cmd.op) ? scripted.get(cmd.op)!(cmd)
    : cmd.op === 'backup_create' ? { ok: true, output: { bytes: 123456789, sha256: SHA, durationMs: 4321 } } : { ok: true }));
});
after(async () => {
  await node?.stop();
  await h?.close();
});

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('backups: 409 without a store; back up now, list, restore in place, delete; a failure says why on the backup and the task; another tenant 404; audited', async () => {
  const a = await h.register('bk');
  const b = await h.register('bk-other');
  const id = await h.orderRunning(a.token, 'bk-1');
  const base = `/api/v1/servers/${id}/backups`;

  // no enabled store in the location yet: a clear 409
  const none = await h.http('POST', base, { token: a.token });
  assert.equal(none.status, 409, JSON.stringify(none.body));
  assert.equal(none.body.code, 'no_backup_store');
  assert.match(none.body.message, /no enabled backup store/);
  assert.equal((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state, 'running', 'a refused backup leaves the server as it was');

  const store = (await h.http('POST', '/api/v1/admin/backup-stores', { token: staff, body: {
    locationId: h.seed.locationId, name: 'bk-store', host: 'backup1.example.net', port: 2222, username: 'oblako', basePath: '/srv/oblako-backups',
    hostKey: `[backup1.example.net]:2222 ${KEY}`,
  } })).body;
  assert.ok(store.id, JSON.stringify(store));

  // back up now
  const created = await h.http('POST', base, { token: a.token });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  assert.ok(['pending', 'running'].includes(created.body.state), created.body.state);
  assert.equal(created.body.trigger, 'manual');
  assert.equal(created.body.kind, 'full');
  assert.equal(created.body.storeId, store.id);
  const backupId: string = created.body.id;
  await h.waitIdle(a.token, id, 'running');
  const cmd = node.received.find((c) => c.op === 'backup_create' && c.serverId === id) as Extract<NodeCommand, { op: 'backup_create' }>;
  assert.deepEqual(cmd.backup, { id: backupId, serverId: id });
  assert.deepEqual(cmd.store, { id: store.id, host: 'backup1.example.net', port: 2222, username: 'oblako', basePath: '/srv/oblako-backups', hostKey: `[backup1.example.net]:2222 ${KEY}` });
  const listed = await h.http('GET', base, { token: a.token });
  assert.equal(listed.status, 200);
  assert.equal(listed.body.length, 1);
  assert.equal(listed.body[0].state, 'ready');
  assert.equal(listed.body[0].sizeBytes, 123456789);
  assert.equal(listed.body[0].sha256, SHA);
  assert.equal(listed.body[0].durationMs, 4321);
  assert.equal(listed.body[0].serverName, 'bk-1');
  assert.ok(listed.body[0].taskId && listed.body[0].finishedAt);
  const one = await h.http('GET', `${base}/${backupId}`, { token: a.token });
  assert.equal(one.status, 200);
  assert.equal(one.body.id, backupId);

  // another tenant sees nothing and can touch nothing
  assert.equal((await h.http('GET', base, { token: b.token })).status, 404);
  assert.equal((await h.http('GET', `${base}/${backupId}`, { token: b.token })).status, 404);
  assert.equal((await h.http('POST', base, { token: b.token })).status, 404);
  assert.equal((await h.http('POST', `${base}/${backupId}/restore`, { token: b.token })).status, 404);
  assert.equal((await h.http('DELETE', `${base}/${backupId}`, { token: b.token })).status, 404);
  assert.equal((await h.http('POST', `${base}/00000000-0000-4000-8000-000000000000/restore`, { token: a.token })).status, 404);
  assert.equal((await h.http('GET', `${base}/not-a-uuid`, { token: a.token })).status, 400);

  // a failed backup: the store was down. The backup says why, the task too, the server runs on.
  scripted.set('backup_create', () => ({ ok: false, error: { code: 'store_unreachable', message: 'backup store backup1.example.net:2222: Connection refused' } }));
  const failing = await h.http('POST', base, { token: a.token });
  assert.equal(failing.status, 202);
  const failedTask = await h.waitIdle(a.token, id, 'running');
  void failedTask;
  scripted.delete('backup_create');
  const failed = (await h.http('GET', `${base}/${failing.body.id}`, { token: a.token })).body;
  assert.equal(failed.state, 'failed');
  assert.match(failed.error, /store_unreachable: .*Connection refused/);
  const [task] = await h.ds.query(`SELECT state, error FROM tasks WHERE id = $1`, [failed.taskId]);
  assert.equal(task.state, 'failed');
  assert.match(task.error, /Connection refused/);

  // restore in place: the node is told the recorded checksum and to start the server again
  const restoring = await h.http('POST', `${base}/${backupId}/restore`, { token: a.token });
  assert.equal(restoring.status, 202, JSON.stringify(restoring.body));
  assert.equal(restoring.body.state, 'restoring');
  await h.waitIdle(a.token, id, 'running');
  const rcmd = node.received.find((c) => c.op === 'backup_restore' && c.serverId === id) as Extract<NodeCommand, { op: 'backup_restore' }>;
  assert.deepEqual(rcmd.backup, { id: backupId, serverId: id, sha256: SHA });
  assert.equal(rcmd.startAfter, true);
  // a failed backup cannot be restored
  const notReady = await h.http('POST', `${base}/${failing.body.id}/restore`, { token: a.token });
  assert.equal(notReady.status, 409);
  assert.equal(notReady.body.code, 'backup_not_ready');

  // a stopped server is restored and stays stopped
  await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } });
  await h.waitIdle(a.token, id, 'stopped');
  scripted.set('backup_restore', () => ({ ok: true, domainState: 'shutoff' }));
  assert.equal((await h.http('POST', `${base}/${backupId}/restore`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, id, 'stopped');
  scripted.delete('backup_restore');
  const stoppedCmd = node.received.filter((c) => c.op === 'backup_restore' && c.serverId === id).at(-1) as Extract<NodeCommand, { op: 'backup_restore' }>;
  assert.equal(stoppedCmd.startAfter, false);

  // delete: a failed one and a ready one; each goes once the node confirms
  for (const bid of [failing.body.id as string, backupId]) {
    const del = await h.http('DELETE', `${base}/${bid}`, { token: a.token });
    assert.equal(del.status, 202, JSON.stringify(del.body));
    await h.waitIdle(a.token, id, 'stopped');
  }
  assert.deepEqual((await h.http('GET', base, { token: a.token })).body, []);
  assert.equal(node.received.filter((c) => c.op === 'backup_delete' && c.serverId === id).length, 2);

  const audit: { action: string }[] = await h.ds.query(`SELECT action FROM audit_log WHERE target_id = $1 AND action LIKE 'server.backup_%' ORDER BY id`, [id]);
  assert.deepEqual(audit.map((x) => x.action), ['server.backup_create', 'server.backup_create', 'server.backup_restore', 'server.backup_restore', 'server.backup_delete', 'server.backup_delete']);
  const failedAudit = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'task.failed'`, [id]);
  assert.equal(failedAudit.length, 1);
  assert.equal(failedAudit[0].details.op, 'backup_create');
});

test('BackupsService.requestBackup (the scheduler) starts a scheduled backup as the system; a busy server is refused', async () => {
  const a = await h.register('bk-sched');
  const id = await h.orderRunning(a.token, 'bk-sched-1');
  const svc = h.api.app.get(BackupsService);
  // the node holds this backup until the second request has been refused: answered at once, the
  // first backup could end before the second request and the server would no longer be busy
  let held: NodeCommand | null = null;
  scripted.set('backup_create', (cmd) => { held = cmd; return null; });
  let view;
  try {
    view = await svc.requestBackup(id, 'scheduled');
    assert.equal(view.trigger, 'scheduled');
    assert.equal(view.serverId, id);
    await until('the node to hold the backup', async () => held);
    await assert.rejects(svc.requestBackup(id), /wait for the current task/);
  } finally {
    scripted.delete('backup_create');
  }
  await node.answer(held!, { ok: true, output: { bytes: 123456789, sha256: SHA, durationMs: 4321 } });
  await h.waitIdle(a.token, id, 'running');
  const [row] = await h.ds.query(`SELECT state, trigger FROM backups WHERE id = $1`, [view.id]);
  assert.deepEqual(row, { state: 'ready', trigger: 'scheduled' });
  const [entry] = await h.ds.query(`SELECT actor_kind FROM audit_log WHERE target_id = $1 AND action = 'server.backup_create'`, [id]);
  assert.equal(entry.actor_kind, 'system');
});

test('a node reports its backup public key in its heartbeat; staff see it on the node', async () => {
  const line = `${KEY} oblako-node-test`;
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    await until('the key on the node', async () => {
      // the node's domains as they are, so reconciliation sees nothing missing
      const placed: { id: string; state: string }[] = await h.ds.query(`SELECT id, state FROM servers WHERE node_id = $1 AND state IN ('running', 'stopped')`, [h.seed.nodeId]);
      nc.publish(subjects(h.config.natsSubjectPrefix).nodeHeartbeat(h.seed.nodeId), JSON.stringify({
        v: WIRE_VERSION, nodeId: h.seed.nodeId, at: Date.now(), daemonVersion: 'test', hypervisor: 'fake', capacity: { vcpus: 64, memoryMiB: 262144, diskGiB: 4000 },
        domains: placed.map((p) => ({ serverId: p.id, state: p.state === 'stopped' ? 'shutoff' : 'running' })), backupPublicKey: line,
      }));
      await nc.flush();
      await new Promise((r) => setTimeout(r, 200));
      const n = await h.http('GET', `/api/v1/admin/nodes/${h.seed.nodeId}`, { token: staff });
      return n.body.backupPublicKey === line ? n : null;
    });
  } finally {
    await nc.close();
  }
});

test('the scheduler\'s BACKUP_ENGINE is this engine: a due window starts a real scheduled backup, retention prunes through backup_delete', async () => {
  const a = await h.register('bk-engine');
  const id = await h.orderRunning(a.token, 'bk-engine-1');
  const engine = h.api.app.get<BackupEngine>(BACKUP_ENGINE);
  assert.ok(engine instanceof BackupsEngineAdapter);
  const hourNow = new Date().getUTCHours();
  const put = await h.http('PUT', `/api/v1/servers/${id}/backup-schedule`, { token: a.token, body: {
    enabled: true, frequency: 'daily', windowStartHour: hourNow, windowHours: 2, retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
  } });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const scheduler = h.api.app.get(BackupScheduler);
  const first = await scheduler.sweep();
  assert.equal(first.started, 1, JSON.stringify(first));
  await h.waitIdle(a.token, id, 'running');
  const listed = (await h.http('GET', `/api/v1/servers/${id}/backups`, { token: a.token })).body;
  assert.equal(listed.length, 1);
  assert.deepEqual([listed[0].state, listed[0].trigger], ['ready', 'scheduled']);
  // a second backup now, then keep-last 1 prunes the older one through the node
  await h.http('POST', `/api/v1/servers/${id}/backups`, { token: a.token });
  await h.waitIdle(a.token, id, 'running');
  const second = await scheduler.sweep();
  assert.equal(second.pruned, 1, JSON.stringify(second));
  await h.waitIdle(a.token, id, 'running');
  const left = (await h.http('GET', `/api/v1/servers/${id}/backups`, { token: a.token })).body;
  assert.deepEqual(left.map((b: { trigger: string }) => b.trigger), ['manual'], 'the older (scheduled) one was pruned, the newest kept');
});

/** The location's store (made once per run). */
async function ensureStore(): Promise<string> {
  const [row]: { id: string }[] = await h.ds.query('SELECT id FROM backup_stores WHERE location_id = $1 AND enabled LIMIT 1', [h.seed.locationId]);
  if (row) return row.id;
  const store = (await h.http('POST', '/api/v1/admin/backup-stores', { token: staff, body: {
    locationId: h.seed.locationId, name: 'bk-store-2', host: 'backup1.example.net', port: 2222, username: 'oblako', basePath: '/srv/oblako-backups',
    hostKey: `[backup1.example.net]:2222 ${KEY}`,
  } })).body;
  return store.id as string;
}

test('restore into a new server: an order whose create carries the backup; also of a deleted server within grace; plan too small 409, past grace 409, another tenant 404', async () => {
  await ensureStore();
  const a = await h.register('rtn');
  const b = await h.register('rtn-other');
  const id = await h.orderRunning(a.token, 'rtn-src', h.seed.planIds.medium);
  const made = await h.http('POST', `/api/v1/servers/${id}/backups`, { token: a.token });
  assert.equal(made.status, 202, JSON.stringify(made.body));
  await h.waitIdle(a.token, id, 'running');
  const backupId: string = made.body.id;
  const gib = 1024 ** 3;

  const all = await h.http('GET', '/api/v1/backups', { token: a.token });
  assert.equal(all.status, 200, JSON.stringify(all.body));
  assert.equal(all.body.length, 1);
  assert.equal(all.body[0].id, backupId);
  assert.equal(all.body[0].serverDeleted, false);
  assert.equal(all.body[0].graceExpiresAt, null);
  assert.equal(all.body[0].locationId, h.seed.locationId);
  assert.equal(all.body[0].virtualSizeBytes, 60 * gib, 'the medium plan\'s 60 GiB disk');
  assert.deepEqual((await h.http('GET', '/api/v1/backups?serverDeleted=true', { token: a.token })).body, []);
  assert.equal((await h.http('GET', '/api/v1/backups?serverDeleted=maybe', { token: a.token })).status, 400);

  // another tenant: nothing listed, the restore is 404 (not 403, not 409)
  assert.deepEqual((await h.http('GET', '/api/v1/backups', { token: b.token })).body, []);
  const foreign = await h.http('POST', `/api/v1/backups/${backupId}/restore-to-new`, { token: b.token, body: { hostname: 'steal', planId: h.seed.planIds.large, rootPassword: 'correct-horse-1' } });
  assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
  assert.equal(foreign.body.code, 'backup_not_found');

  // a plan with a smaller disk than the backup's: 409 naming both sizes, and no server made
  const before = await h.count('servers');
  const small = await h.http('POST', `/api/v1/backups/${backupId}/restore-to-new`, { token: a.token, body: { hostname: 'rtn-small', planId: h.seed.planIds.small, rootPassword: 'correct-horse-1' } });
  assert.equal(small.status, 409, JSON.stringify(small.body));
  assert.equal(small.body.code, 'plan_disk_too_small');
  assert.match(small.body.message, /20 GiB disk.*60 GiB disk/);
  assert.equal(await h.count('servers'), before);
  const elsewhere = await h.http('POST', `/api/v1/backups/${backupId}/restore-to-new`, { token: a.token, body: { hostname: 'rtn-x', planId: h.seed.planIds.medium, locationId: '00000000-0000-4000-8000-000000000000', rootPassword: 'correct-horse-1' } });
  assert.equal(elsewhere.status, 409);
  assert.equal(elsewhere.body.code, 'backup_other_location');

  // a live server's backup restores into a new server too (the panel offers it on the server's page): the order's path,
  // the create carries the backup; the backed-up server runs on and takes no task
  const sourceTasks = (await h.http('GET', `/api/v1/servers/${id}/tasks`, { token: a.token })).body.length as number;
  const live = await h.http('POST', `/api/v1/backups/${backupId}/restore-to-new`, { token: a.token, body: { hostname: 'rtn-live', planId: h.seed.planIds.medium, locationId: h.seed.locationId, rootPassword: 'correct-horse-1' } });
  assert.equal(live.status, 202, JSON.stringify(live.body));
  assert.equal(live.body.location.id, h.seed.locationId);
  await h.waitIdle(a.token, live.body.id, 'running');
  const liveCreate = node.received.find((c) => c.op === 'create' && c.serverId === live.body.id) as Extract<NodeCommand, { op: 'create' }>;
  assert.deepEqual(liveCreate.restore?.backup, { id: backupId, serverId: id, sha256: SHA });
  assert.equal(liveCreate.spec.diskGiB, 60, 'the medium plan holds the 60 GiB disk exactly');
  assert.equal((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state, 'running', 'the backed-up server is not touched');
  assert.equal((await h.http('GET', `/api/v1/servers/${id}/tasks`, { token: a.token })).body.length, sourceTasks, 'no task ran on it');

  // delete the server: its backup stays, listed as a deleted server's with its grace
  assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, id, 'deleted');
  const [{ deleted_at: deletedAt }] = await h.ds.query('SELECT deleted_at FROM servers WHERE id = $1', [id]);
  const graceDays = (await h.http('GET', '/api/v1/admin/settings/backups', { token: staff })).body.deletedServerGraceDays as number;
  const gone = await h.http('GET', '/api/v1/backups?serverDeleted=true', { token: a.token });
  assert.equal(gone.body.length, 1);
  assert.equal(gone.body[0].serverName, 'rtn-src');
  assert.equal(gone.body[0].graceExpiresAt, new Date(new Date(deletedAt).getTime() + graceDays * 86_400_000).toISOString());
  assert.deepEqual((await h.http('GET', '/api/v1/backups?serverDeleted=false', { token: a.token })).body, []);

  // restore it into a new server: the order's path, the create command carries the store and the recorded checksum
  const restored = await h.http('POST', `/api/v1/backups/${backupId}/restore-to-new`, { token: a.token, body: { hostname: 'rtn-new', planId: h.seed.planIds.large, rootPassword: 'correct-horse-1' } });
  assert.equal(restored.status, 202, JSON.stringify(restored.body));
  assert.equal(restored.body.hostname, 'rtn-new');
  assert.ok(restored.body.addresses.length > 0, 'addresses allocated like an order');
  await h.waitIdle(a.token, restored.body.id, 'running');
  const create = node.received.find((c) => c.op === 'create' && c.serverId === restored.body.id) as Extract<NodeCommand, { op: 'create' }>;
  assert.ok(create.restore, 'the create carries the restore');
  assert.deepEqual(create.restore.backup, { id: backupId, serverId: id, sha256: SHA });
  assert.equal(create.restore.store.basePath, '/srv/oblako-backups');
  assert.equal(create.spec.diskGiB, 120, 'the large plan\'s disk: the node grows the backup to it');
  const [audit] = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'server.create'`, [restored.body.id]);
  assert.equal(audit.details.restoredFromBackupId, backupId);
  // an ordinary order carries no restore
  const plain = await h.orderRunning(a.token, 'rtn-plain');
  assert.equal((node.received.find((c) => c.op === 'create' && c.serverId === plain) as Extract<NodeCommand, { op: 'create' }>).restore, undefined);

  // past the grace: 409 backup_expired
  const clock = h.api.app.get(BackupPolicyClock);
  clock.set(new Date(new Date(deletedAt).getTime() + graceDays * 86_400_000 + 60_000));
  try {
    const late = await h.http('POST', `/api/v1/backups/${backupId}/restore-to-new`, { token: a.token, body: { hostname: 'rtn-late', planId: h.seed.planIds.large, rootPassword: 'correct-horse-1' } });
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.equal(late.body.code, 'backup_expired');
  } finally {
    clock.set(new Date());
  }
});

test('a deleted server\'s backups: the customer\'s DELETE and the grace expiry go to an online node of the store\'s location as store_delete; the row goes once the node confirms, a failure puts it back; another tenant 404', async () => {
  await ensureStore();
  await h.ds.query(`UPDATE nodes SET state = 'online', last_heartbeat_at = now() WHERE id = $1`, [h.seed.nodeId]);
  const a = await h.register('sd');
  const b = await h.register('sd-other');
  const id = await h.orderRunning(a.token, 'sd-src');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const made = await h.http('POST', `/api/v1/servers/${id}/backups`, { token: a.token });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    await h.waitIdle(a.token, id, 'running');
    ids.push(made.body.id);
  }
  assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, id, 'deleted');
  const rows = async () => (await h.ds.query('SELECT id, state FROM backups WHERE server_id = $1 ORDER BY created_at', [id])) as { id: string; state: string }[];
  const waitRows = (n: number) => until(`${n} backups left`, async () => ((await rows()).length === n ? rows() : null));

  // another tenant: 404, nothing sent
  const sent = node.storeDeletes.length;
  assert.equal((await h.http('DELETE', `/api/v1/backups/${ids[0]}`, { token: b.token })).status, 404);
  assert.equal(node.storeDeletes.length, sent);

  // the node fails: the backup comes back ready, the failure audited with the node's reason
  node.storeDeleteAnswer = { ok: false, reason: 'store_unreachable: backup store backup1.example.net:2222: Connection refused' };
  const failing = await h.http('DELETE', `/api/v1/backups/${ids[0]}`, { token: a.token });
  assert.equal(failing.status, 202, JSON.stringify(failing.body));
  assert.equal(failing.body.state, 'deleting');
  await until('the failed delete put back', async () => (await rows()).find((r) => r.id === ids[0])?.state === 'ready');
  const [failAudit] = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'backup.delete_failed'`, [ids[0]]);
  assert.match(failAudit.details.reason, /Connection refused/);

  // the customer's delete within grace: store_delete to the online node with the store and the backup's file, the row goes
  node.storeDeleteAnswer = { ok: true };
  const del = await h.http('DELETE', `/api/v1/backups/${ids[0]}`, { token: a.token });
  assert.equal(del.status, 202, JSON.stringify(del.body));
  await waitRows(2);
  const cmd = node.storeDeletes.at(-1)!;
  assert.deepEqual(cmd.backup, { id: ids[0], serverId: id });
  assert.equal(cmd.nodeId, h.seed.nodeId);
  assert.equal(cmd.store.basePath, '/srv/oblako-backups');
  const [asked] = await h.ds.query(`SELECT actor_kind, actor_user_id FROM audit_log WHERE target_id = $1 AND action = 'backup.delete' ORDER BY id DESC LIMIT 1`, [ids[0]]);
  assert.equal(asked.actor_kind, 'user');
  assert.equal(asked.actor_user_id, a.userId);

  // a node that never answers: deleting, not sent twice while fresh
  node.storeDeleteAnswer = null;
  assert.equal((await h.http('DELETE', `/api/v1/backups/${ids[1]}`, { token: a.token })).status, 202);
  await until('sent', async () => node.storeDeletes.some((c) => c.backup.id === ids[1]));
  assert.equal((await h.http('DELETE', `/api/v1/backups/${ids[1]}`, { token: a.token })).status, 202);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(node.storeDeletes.filter((c) => c.backup.id === ids[1]).length, 1, 'a fresh request is not sent again');
  // ... until the retell time has passed: then the grace sweep asks again, and the rest goes too
  node.storeDeleteAnswer = { ok: true };
  await h.ds.query(`UPDATE backups SET delete_requested_at = now() - interval '1 hour' WHERE id = $1`, [ids[1]]);
  const [{ deleted_at: deletedAt }] = await h.ds.query('SELECT deleted_at FROM servers WHERE id = $1', [id]);
  const graceDays = (await h.http('GET', '/api/v1/admin/settings/backups', { token: staff })).body.deletedServerGraceDays as number;
  const clock = h.api.app.get(BackupPolicyClock);
  const scheduler = h.api.app.get(BackupScheduler);
  // within grace the sweep deletes nothing
  clock.set(new Date(new Date(deletedAt).getTime() + graceDays * 86_400_000 - 60_000));
  try {
    await scheduler.sweep();
    assert.equal((await rows()).length, 2);
    clock.set(new Date(new Date(deletedAt).getTime() + graceDays * 86_400_000 + 60_000));
    for (let i = 0; i < 10 && (await rows()).length > 0; i++) {
      const r = await scheduler.sweep();
      void r;
      await new Promise((res) => setTimeout(res, 300));
    }
  } finally {
    clock.set(new Date());
  }
  assert.deepEqual(await rows(), [], 'past the grace every backup of the deleted server is gone');
  assert.ok(node.storeDeletes.filter((c) => c.backup.id === ids[1]).length >= 2, 'the stale request was sent again');
  assert.ok(node.storeDeletes.some((c) => c.backup.id === ids[2]));
  const [sys] = await h.ds.query(`SELECT actor_kind FROM audit_log WHERE target_id = $1 AND action = 'backup.delete'`, [ids[2]]);
  assert.equal(sys.actor_kind, 'system');
});

test('a customer\'s DELETE of a deleted server\'s backup is a 202 even when the node confirms before the API has answered (the row already gone)', async () => {
  await ensureStore();
  await h.ds.query(`UPDATE nodes SET state = 'online', last_heartbeat_at = now() WHERE id = $1`, [h.seed.nodeId]);
  const a = await h.register('sdq');
  const id = await h.orderRunning(a.token, 'sdq-src');
  const made = await h.http('POST', `/api/v1/servers/${id}/backups`, { token: a.token });
  assert.equal(made.status, 202, JSON.stringify(made.body));
  await h.waitIdle(a.token, id, 'running');
  assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, id, 'deleted');
  node.storeDeleteAnswer = { ok: true };
  const present = async () => (await h.ds.query('SELECT 1 FROM backups WHERE id = $1', [made.body.id])).length > 0;

  // The order the race took under load (2 of 6 runs answered 404): the node's confirmation lands before the API has
  // written its answer. A transaction holding the settings table (read for the backup's view) keeps the API's own reads
  // of the view waiting; it is let go once the row is gone, or after 3 s when nothing gets that far without the view.
  const lock = h.ds.createQueryRunner();
  await lock.connect();
  let res: HttpResult<{ id: string; state: string; serverDeleted: boolean }>;
  try {
    await lock.startTransaction();
    await lock.query('LOCK TABLE settings IN ACCESS EXCLUSIVE MODE');
    const pending = h.http<{ id: string; state: string; serverDeleted: boolean }>('DELETE', `/api/v1/backups/${made.body.id}`, { token: a.token });
    await until('the node to confirm first', async () => !(await present()), 3000).catch(() => undefined);
    await lock.rollbackTransaction();
    res = await pending;
  } finally {
    if (lock.isTransactionActive) await lock.rollbackTransaction();
    await lock.release();
  }
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.body.id, made.body.id);
  assert.equal(res.body.state, 'deleting');
  assert.equal(res.body.serverDeleted, true);
  await until('the row gone once the node confirmed', async () => !(await present()));
  assert.ok(node.storeDeletes.some((c) => c.backup.id === made.body.id));
});
