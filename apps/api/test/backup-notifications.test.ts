import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeCommand } from '@oblako/contracts';
import { BackupScheduler } from '../src/backup-policy/backup-scheduler.service.js';
import { FakeNode, type FakeOutcome } from './support/fake-node.js';
import { ADMIN, PANEL_URL, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 14, "a backup failed": the tenant hears of it in the panel and by mail (read back from the test's real SMTP
 * server), whether the backup ran and failed or a scheduled window could not start one; once each, only to the
 * members who want that kind by mail, and never to another tenant.
 */
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';
let h: Harness;
let node: FakeNode;
const scripted = new Map<string, (cmd: NodeCommand) => FakeOutcome | null>();

before(async () => {
  h = await startHarness({ mail: true });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => scripted.get(cmd.op)?.(cmd) ?? { ok: true });
});
after(async () => {
  await node?.stop();
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a failed backup and a scheduled backup that could not start each reach the panel and the mail of those who want it, once; staff list the failed backups', async () => {
  const owner = await h.register('bkn-owner');
  const member = await h.register('bkn-member');
  const stranger = await h.register('bkn-stranger');
  await h.ds.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')`, [owner.tenantId, member.userId]);
  const asMember = { 'x-tenant-id': owner.tenantId };
  // the member wants failed tasks by mail, but not failed backups
  const prefs = await h.http('PUT', '/api/v1/notifications/preferences', { token: member.token, headers: asMember, body: { preferences: [{ kind: 'backup.failed', email: false }] } });
  assert.equal(prefs.status, 200, JSON.stringify(prefs.body));
  const id = await h.orderRunning(owner.token, 'bkn-1');
  await h.orderRunning(stranger.token, 'bkn-other-1');

  // 1. a scheduled window with no backup store in the location: the backup cannot start
  const hourNow = new Date().getUTCHours();
  const put = await h.http('PUT', `/api/v1/servers/${id}/backup-schedule`, { token: owner.token, body: {
    enabled: true, frequency: 'daily', windowStartHour: hourNow, windowHours: 2, retention: { keepLast: 3, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
  } });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const scheduler = h.api.app.get(BackupScheduler);
  const sweep = await scheduler.sweep();
  assert.equal(sweep.failedToStart, 1, JSON.stringify(sweep));
  const notStarted = await h.mail!.waitForMail(owner.email, (m) => /Scheduled backup of bkn-1 failed/.test(m.subject));
  assert.match(notStarted.text, /could not start: The server's location has no enabled backup store/);
  assert.match(notStarted.text, /tried again at the next backup window/);
  assert.match(notStarted.text, new RegExp(`${PANEL_URL}/servers/${id}`));
  assert.ok(notStarted.html.includes('bkn-1'), 'the HTML part names the server too');
  // the same window swept again (another replica, the next 30 s) says nothing new
  assert.equal((await scheduler.sweep()).failedToStart, 0);
  // staff see it (it has no task, so it is not among the failed tasks): the server, its team, the window and the reason
  const staffToken = await h.login(ADMIN.email, ADMIN.password);
  const listed = await h.http('GET', '/api/v1/admin/backups/not-started', { token: staffToken });
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const mine = listed.body.filter((n: { serverId: string }) => n.serverId === id);
  assert.equal(mine.length, 1, JSON.stringify(listed.body));
  assert.equal(mine[0].hostname, 'bkn-1');
  assert.equal(mine[0].tenantId, owner.tenantId);
  assert.match(mine[0].reason, /The server's location has no enabled backup store/);
  const schedule = (await h.http('GET', `/api/v1/servers/${id}/backup-schedule`, { token: owner.token })).body;
  assert.equal(mine[0].windowAt, schedule.lastWindowAt);
  assert.equal(mine[0].nextWindowAt, schedule.nextWindowAt, 'tried again at the next window');
  assert.equal(mine[0].nodeId, h.seed.nodeId);
  assert.equal((await h.http('GET', '/api/v1/admin/backups/not-started', { token: owner.token })).status, 403, 'a customer may not read it');

  // 2. a store that is down: the backup runs on the node and fails with the node's reason
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const store = await h.http('POST', '/api/v1/admin/backup-stores', { token: staff, body: {
    locationId: h.seed.locationId, name: 'bkn-store', host: 'backup1.example.net', port: 22, username: 'oblako', basePath: '/srv/oblako-backups', hostKey: `backup1.example.net ${KEY}`,
  } });
  assert.equal(store.status, 201, JSON.stringify(store.body));
  scripted.set('backup_create', () => ({ ok: false, error: { code: 'store_unreachable', message: 'backup store backup1.example.net:22: Connection refused' } }));
  const started = await h.http('POST', `/api/v1/servers/${id}/backups`, { token: owner.token });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  await h.waitIdle(owner.token, id, 'running');
  const failed = await h.mail!.waitForMail(owner.email, (m) => /^Backup of bkn-1 failed/.test(m.subject));
  assert.match(failed.text, /store_unreachable: .*Connection refused/);
  assert.match(failed.text, /server is running as before/);
  assert.match(failed.text, /Reason: store_unreachable/);

  // in the panel: both, for every member of the tenant (the member only turned the mail off), as backup.failed and not as task.failed
  await sleep(1000);
  const list = await h.http('GET', '/api/v1/notifications', { token: member.token, headers: asMember });
  const kinds = list.body.items.map((n: { kind: string; title: string }) => `${n.kind} ${n.title}`);
  assert.deepEqual(kinds.filter((k: string) => /bkn-1/.test(k) && !/ready/.test(k)), ['backup.failed Backup of bkn-1 failed', 'backup.failed Scheduled backup of bkn-1 failed']);
  assert.equal(list.body.items.find((n: { kind: string }) => n.kind === 'backup.failed').link, `/servers/${id}`);
  const inbox = h.mail!.inbox();
  assert.equal(inbox.filter((m) => m.to.includes(owner.email) && /bkn-1 failed/.test(m.subject)).length, 2, 'each failure mailed once to the owner');
  assert.equal(inbox.some((m) => m.to.includes(member.email) && /backup/i.test(m.subject)), false, 'the member turned backup mail off');
  assert.equal(inbox.some((m) => /backup_create of bkn-1 failed/.test(m.subject)), false, 'no second, generic task-failed mail');
  // another tenant hears nothing of it
  const theirs = await h.http('GET', '/api/v1/notifications', { token: stranger.token });
  assert.equal(theirs.body.items.some((n: { kind: string }) => n.kind === 'backup.failed'), false);
  assert.equal(inbox.some((m) => m.to.includes(stranger.email) && /backup/i.test(m.subject)), false);

  // staff see the failed backups across tenants with the reason, apart from other failed tasks
  scripted.set('stop', () => ({ ok: false, error: { code: 'libvirt_error', message: 'domain did not stop' } }));
  await h.http('POST', `/api/v1/servers/${id}/actions`, { token: owner.token, body: { action: 'stop' } });
  await h.waitIdle(owner.token, id, 'running');
  const allFailed = (await h.http('GET', '/api/v1/admin/tasks?state=failed', { token: staff })).body.items as { op: string }[];
  assert.deepEqual(allFailed.map((t) => t.op).sort(), ['backup_create', 'stop']);
  const backups = await h.http('GET', '/api/v1/admin/tasks?state=failed&op=backup_create', { token: staff });
  assert.equal(backups.status, 200, JSON.stringify(backups.body));
  assert.deepEqual(backups.body.items.map((t: { op: string; hostname: string; tenantId: string }) => [t.op, t.hostname, t.tenantId]), [['backup_create', 'bkn-1', owner.tenantId]]);
  assert.match(backups.body.items[0].error, /Connection refused/);
  const wrong = await h.http('GET', '/api/v1/admin/tasks?op=backup_everything', { token: staff });
  assert.equal(wrong.status, 400);
  assert.match(JSON.stringify(wrong.body), /op must be one of/);
  assert.equal((await h.http('GET', '/api/v1/admin/tasks?state=failed&op=backup_create', { token: owner.token })).status, 403, 'customers are not staff');
});
