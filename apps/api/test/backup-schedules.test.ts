import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, () => ({ ok: true }));
});
after(async () => {
  await node?.stop();
  await h?.close();
});

const good = (over: Record<string, unknown> = {}) => ({
  enabled: true, frequency: 'daily', windowStartHour: 2, windowHours: 4, retention: { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 }, ...over,
});

test('backup schedule: defaults until saved, then daily or weekly with a UTC window and a retention policy; bad input names the field; another tenant 404; audited', async () => {
  const a = await h.register('sched');
  const b = await h.register('sched-other');
  const id = await h.orderRunning(a.token, 'sched-1');
  const path = `/api/v1/servers/${id}/backup-schedule`;

  const initial = await h.http('GET', path, { token: a.token });
  assert.equal(initial.status, 200, JSON.stringify(initial.body));
  assert.equal(initial.body.isDefault, true);
  assert.equal(initial.body.enabled, false);
  assert.deepEqual(initial.body.retention, { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 });

  const bad: [Record<string, unknown>, RegExp][] = [
    [{ frequency: 'hourly' }, /frequency must be daily or weekly/],
    [{ frequency: 'weekly' }, /weekday .*required when weekly/],
    [{ frequency: 'weekly', weekday: 7 }, /weekday/],
    [{ windowStartHour: 24 }, /windowStartHour \(UTC\) must be from 0 to 23/],
    [{ windowHours: 0 }, /windowHours must be from 1 to 23/],
    [{ windowHours: 1.5 }, /windowHours must be a whole number/],
    [{ retention: undefined }, /retention must be an object/],
    [{ retention: { keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } }, /retention.keepLast must be from 1 to 30/],
    [{ retention: { keepLast: 1, keepDaily: 99, keepWeekly: 0, keepMonthly: 0 } }, /retention.keepDaily must be from 0 to 31/],
    [{ retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0 } }, /retention.keepMonthly/],
    [{ enabled: 'yes' }, /enabled must be true or false/],
  ];
  for (const [over, message] of bad) {
    const r = await h.http('PUT', path, { token: a.token, body: good(over) });
    assert.equal(r.status, 400, `${JSON.stringify(over)}: ${JSON.stringify(r.body)}`);
    assert.match(JSON.stringify(r.body), message, JSON.stringify(over));
  }
  assert.equal(await h.count('backup_schedules'), 0);

  // another tenant: 404 both ways, nothing saved
  assert.equal((await h.http('GET', path, { token: b.token })).status, 404);
  assert.equal((await h.http('PUT', path, { token: b.token, body: good() })).status, 404);
  assert.equal(await h.count('backup_schedules'), 0);

  const saved = await h.http('PUT', path, { token: a.token, body: good({ frequency: 'weekly', weekday: 0, windowStartHour: 23, windowHours: 3 }) });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  assert.equal(saved.body.isDefault, false);
  assert.equal(saved.body.weekday, 0);
  assert.equal(new Date(saved.body.nextWindowAt).getUTCDay(), 0, 'the next window opens on a Sunday');
  assert.equal(new Date(saved.body.nextWindowAt).getUTCHours(), 23);
  assert.ok(new Date(saved.body.nextWindowAt).getTime() > Date.now() - 3 * 3600_000);
  const read = await h.http('GET', path, { token: a.token });
  assert.deepEqual(read.body.retention, { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
  // daily again: the weekday is dropped
  const daily = await h.http('PUT', path, { token: a.token, body: good({ weekday: 3 }) });
  assert.equal(daily.status, 200);
  assert.equal(daily.body.weekday, null);
  const audit = await h.ds.query(`SELECT action, tenant_id, details FROM audit_log WHERE target_id = $1 AND action = 'server.backup_schedule' ORDER BY id`, [id]);
  assert.equal(audit.length, 2);
  assert.equal(audit[0].tenant_id, a.tenantId);
  assert.equal(audit[0].details.frequency, 'weekly');

  // a deleted server has no schedule to change
  assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, id, 'deleted');
  const gone = await h.http('PUT', path, { token: a.token, body: good() });
  assert.equal(gone.status, 409, JSON.stringify(gone.body));
  assert.match(gone.body.message, /grace period/);
});

test('staff set how long a deleted server\'s backups are kept (default 7 days); customers cannot', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const path = '/api/v1/admin/settings/backups';
  assert.deepEqual((await h.http('GET', path, { token: staff })).body, { deletedServerGraceDays: 7, incrementalChainMax: 7 });
  for (const v of [-1, 366, 2.5, '7']) {
    const r = await h.http('PUT', path, { token: staff, body: { deletedServerGraceDays: v } });
    assert.equal(r.status, 400, `${v}: ${JSON.stringify(r.body)}`);
    assert.match(JSON.stringify(r.body), /deletedServerGraceDays/);
  }
  assert.deepEqual((await h.http('PUT', path, { token: staff, body: { deletedServerGraceDays: 14 } })).body, { deletedServerGraceDays: 14, incrementalChainMax: 7 });
  assert.deepEqual((await h.http('GET', path, { token: staff })).body, { deletedServerGraceDays: 14, incrementalChainMax: 7 });
  const customer = await h.register('grace-customer');
  assert.equal((await h.http('PUT', path, { token: customer.token, body: { deletedServerGraceDays: 0 } })).status, 403);
  const audit = await h.ds.query(`SELECT details FROM audit_log WHERE action = 'settings.backups'`);
  assert.deepEqual(audit.map((r: { details: unknown }) => r.details), [{ deletedServerGraceDays: 14, incrementalChainMax: 7 }]);
});
