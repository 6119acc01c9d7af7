import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BackupPolicyClock, BackupScheduler, type BackupEngine, type EngineBackup } from '../src/backup-policy/backup-scheduler.service.js';
import { BackupSchedulesService } from '../src/backup-policy/backup-schedules.service.js';
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

const DAY = 86_400_000;
const HOUR = 3_600_000;

/**
 * The engine's side as the scheduler sees it, kept in memory: what was asked of it is what the test checks. The
 * servers, schedules, settings and the claiming of windows are the real ones in PostgreSQL.
 */
class RecordingEngine implements BackupEngine {
  backups: EngineBackup[] = [];
  requested: string[] = [];
  deleted: string[] = [];
  failNext = new Map<string, string>();
  private seq = 0;

  constructor(private readonly tenantOf: (serverId: string) => string) {}

  async requestBackup(serverId: string): Promise<{ id: string }> {
    await new Promise((r) => setTimeout(r, 5)); // a real start takes a while; replicas overlap in it
    const reason = this.failNext.get(serverId);
    if (reason) {
      this.failNext.delete(serverId);
      throw new Error(reason);
    }
    this.requested.push(serverId);
    const b: EngineBackup = { id: `b${++this.seq}`, tenantId: this.tenantOf(serverId), serverId, state: 'creating', createdAt: new Date(), parentId: null };
    this.backups.push(b);
    return { id: b.id };
  }
  async inFlight(serverId: string): Promise<boolean> {
    return this.backups.some((b) => b.serverId === serverId && b.state === 'creating');
  }
  async backupsOf(serverId: string): Promise<EngineBackup[]> {
    return this.backups.filter((b) => b.serverId === serverId);
  }
  async serversWithBackups(): Promise<{ serverId: string; deletedAt: Date | null }[]> {
    const ids = [...new Set(this.backups.filter((b) => b.state === 'ready' || b.state === 'failed').map((b) => b.serverId))];
    if (ids.length === 0) return [];
    const rows: { id: string; deleted_at: Date | null }[] = await h.ds.query('SELECT id, deleted_at FROM servers WHERE id = ANY($1)', [ids]);
    return rows.map((r) => ({ serverId: r.id, deletedAt: r.deleted_at }));
  }
  async deleteBackup(b: EngineBackup): Promise<void> {
    this.deleted.push(b.id);
    b.state = 'deleting';
  }
  add(serverId: string, id: string, createdAt: Date, state: EngineBackup['state'] = 'ready', parentId: string | null = null): EngineBackup {
    const b: EngineBackup = { id, tenantId: this.tenantOf(serverId), serverId, state, createdAt, parentId };
    this.backups.push(b);
    return b;
  }
}

function replica(engine: BackupEngine, at: Date): { scheduler: BackupScheduler; clock: BackupPolicyClock } {
  const clock = new BackupPolicyClock();
  clock.set(at);
  // settings() reads only the settings table: the audit service is not used by the scheduler
  const schedules = new BackupSchedulesService(h.ds, null as never);
  return { scheduler: new BackupScheduler(h.ds, schedules, clock, engine), clock };
}

const tenants = new Map<string, string>();
const tenantOf = (id: string) => tenants.get(id)!;
async function serverWithSchedule(token: string, tenantId: string, name: string, schedule: Record<string, unknown>): Promise<string> {
  const id = await h.orderRunning(token, name);
  tenants.set(id, tenantId);
  const r = await h.http('PUT', `/api/v1/servers/${id}/backup-schedule`, {
    token, body: { enabled: true, frequency: 'daily', windowStartHour: 2, windowHours: 4, retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 }, ...schedule },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return id;
}
const lastError = async (id: string) => ((await h.ds.query('SELECT last_error FROM backup_schedules WHERE server_id = $1', [id])) as { last_error: string | null }[])[0]!.last_error;

test('scheduler: a backup starts inside the window only, once per window, across two replicas; in-flight skipped; a failure waits for the next window', async () => {
  const a = await h.register('sched-run');
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push(await serverWithSchedule(a.token, a.tenantId, `sched-run-${i}`, {}));
  const weekly = await serverWithSchedule(a.token, a.tenantId, 'sched-weekly', { frequency: 'weekly', weekday: 3, windowStartHour: 22, windowHours: 6 });
  const disabled = await serverWithSchedule(a.token, a.tenantId, 'sched-off', { enabled: false });
  const engine = new RecordingEngine(tenantOf);
  const mine = (list: string[]) => list.filter((s) => [...ids, weekly, disabled].includes(s));

  // Tuesday 2031-01-07 01:30 UTC: before the window
  const one = replica(engine, new Date('2031-01-07T01:30:00Z'));
  const two = replica(engine, new Date('2031-01-07T01:30:00Z'));
  assert.equal((await one.scheduler.sweep()).started, 0);
  assert.deepEqual(mine(engine.requested), []);

  // 02:10: both replicas sweep at the same moment, several times: each daily server once, none of the others
  one.clock.set(new Date('2031-01-07T02:10:00Z'));
  two.clock.set(new Date('2031-01-07T02:10:00Z'));
  const results = await Promise.all([one.scheduler.sweep(), two.scheduler.sweep(), one.scheduler.sweep(), two.scheduler.sweep()]);
  assert.deepEqual(mine(engine.requested).sort(), [...ids].sort(), 'one scheduled backup per server and window');
  assert.ok(results.reduce((n, r) => n + r.started, 0) >= 4);

  // the backups finish; later in the same window nothing starts again
  for (const b of engine.backups) b.state = 'ready';
  one.clock.set(new Date('2031-01-07T05:50:00Z'));
  await one.scheduler.sweep();
  assert.equal(mine(engine.requested).length, 4);

  // Wednesday 22:30: the weekly one's window, and no daily window (02:00-06:00)
  one.clock.set(new Date('2031-01-08T22:30:00Z'));
  two.clock.set(new Date('2031-01-08T22:30:00Z'));
  await Promise.all([one.scheduler.sweep(), two.scheduler.sweep()]);
  assert.deepEqual(mine(engine.requested).slice(4), [weekly]);
  for (const b of engine.backups) b.state = 'ready';

  // Thursday 02:05: server 0 has a manual backup still being made, server 1's start fails
  engine.add(ids[0]!, 'manual-1', new Date('2031-01-09T01:58:00Z'), 'creating');
  engine.failNext.set(ids[1]!, 'no enabled backup store in this location');
  one.clock.set(new Date('2031-01-09T02:05:00Z'));
  const thu = await one.scheduler.sweep();
  assert.equal(thu.skippedInFlight, 1);
  assert.equal(thu.failedToStart, 1);
  assert.equal(await lastError(ids[1]!), 'no enabled backup store in this location');
  const shown = await h.http('GET', `/api/v1/servers/${ids[1]}/backup-schedule`, { token: a.token });
  assert.equal(shown.body.lastError, 'no enabled backup store in this location', 'the customer sees why');
  // ... and staff see it among the scheduled backups that did not start (the other three started: not listed)
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const notStarted = async () => ((await h.http('GET', '/api/v1/admin/backups/not-started', { token: staff })).body as { serverId: string; reason: string; windowAt: string }[])
    .filter((n) => [...ids, weekly, disabled].includes(n.serverId));
  assert.deepEqual((await notStarted()).map((n) => [n.serverId, n.reason, n.windowAt]), [[ids[1], 'no enabled backup store in this location', '2031-01-09T02:00:00.000Z']]);
  assert.deepEqual(mine(engine.requested).slice(5).sort(), [ids[2], ids[3]].sort());

  // the manual backup finishes: server 0 gets its scheduled one in this window; server 1 is not retried in a loop
  engine.backups.find((b) => b.id === 'manual-1')!.state = 'ready';
  one.clock.set(new Date('2031-01-09T02:40:00Z'));
  for (let i = 0; i < 3; i++) await one.scheduler.sweep();
  assert.deepEqual(mine(engine.requested).slice(7), [ids[0]]);
  for (const b of engine.backups) b.state = 'ready';

  // Friday's window: server 1 is retried, and its error clears
  one.clock.set(new Date('2031-01-10T02:01:00Z'));
  await one.scheduler.sweep();
  assert.ok(mine(engine.requested).slice(8).includes(ids[1]!));
  assert.equal(await lastError(ids[1]!), null);
  assert.deepEqual(await notStarted(), [], 'started in its next window: no longer listed');
  assert.ok(!engine.requested.includes(disabled));
});

test('pruning deletes exactly what the retention policy lets go, one delete per server and sweep, nothing else', async () => {
  const a = await h.register('sched-prune');
  const id = await serverWithSchedule(a.token, a.tenantId, 'prune-1', { enabled: false, retention: { keepLast: 2, keepDaily: 3, keepWeekly: 0, keepMonthly: 0 } });
  const other = await serverWithSchedule(a.token, a.tenantId, 'prune-default', { enabled: false });
  const engine = new RecordingEngine(tenantOf);
  const at = (s: string) => new Date(`2031-03-${s}Z`);
  // two a day on the 10th-14th (Mon-Fri); keep-last 2 = both of the 14th; daily 3 = the newest of the 14th, 13th, 12th
  for (const d of ['10', '11', '12', '13', '14']) {
    engine.add(id, `${d}-early`, at(`${d}T02:00:00`));
    engine.add(id, `${d}-late`, at(`${d}T14:00:00`));
  }
  engine.add(id, 'failed-old', at('01T02:00:00'), 'failed'); // older than 14 days at the 20th: its row goes
  engine.add(id, 'failed-new', at('19T02:00:00'), 'failed'); // recent: kept for its reason
  engine.add(id, 'in-flight', at('20T02:00:00'), 'creating');
  // the other server keeps only its newest one (keep-last 1)
  engine.add(other, 'o-1', at('12T02:00:00'));
  engine.add(other, 'o-2', at('13T02:00:00'));

  const { scheduler } = replica(engine, at('20T12:00:00'));
  const first = await scheduler.sweep();
  assert.equal(first.pruned, 2, 'one delete per server in a sweep');
  for (let i = 0; i < 12; i++) await scheduler.sweep();
  assert.deepEqual(
    engine.deleted.filter((d) => !d.startsWith('o-')).sort(),
    ['10-early', '10-late', '11-early', '11-late', '12-early', '13-early', 'failed-old'].sort(),
  );
  assert.deepEqual(engine.deleted.filter((d) => d.startsWith('o-')), ['o-1']);
  // nothing more to prune
  assert.equal((await scheduler.sweep()).pruned, 0);
});

test('a deleted server\'s backups stay for the staff\'s grace days, then all of them are deleted', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  assert.equal((await h.http('PUT', '/api/v1/admin/settings/backups', { token: staff, body: { deletedServerGraceDays: 7 } })).status, 200);
  const a = await h.register('sched-grace');
  const gone = await serverWithSchedule(a.token, a.tenantId, 'grace-gone', { enabled: false });
  const kept = await serverWithSchedule(a.token, a.tenantId, 'grace-live', { enabled: false, retention: { keepLast: 5, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } });
  const engine = new RecordingEngine(tenantOf);
  for (const i of [1, 2, 3]) {
    engine.add(gone, `g-${i}`, new Date(Date.now() - (10 - i) * DAY), 'ready', i > 1 ? `g-${i - 1}` : null);
    engine.add(kept, `k-${i}`, new Date(Date.now() - (10 - i) * DAY));
  }
  assert.equal((await h.http('DELETE', `/api/v1/servers/${gone}`, { token: a.token })).status, 202);
  await h.waitIdle(a.token, gone, 'deleted');
  const [{ deleted_at: deletedAt }] = await h.ds.query('SELECT deleted_at FROM servers WHERE id = $1', [gone]);

  // six days and 23 hours later: nothing of the deleted server goes (and its retention no longer applies)
  const { scheduler, clock } = replica(engine, new Date(new Date(deletedAt).getTime() + 7 * DAY - HOUR));
  for (let i = 0; i < 3; i++) await scheduler.sweep();
  assert.deepEqual(engine.deleted, []);

  // past seven days: each of its backups, children before parents; the live server's are untouched
  clock.set(new Date(new Date(deletedAt).getTime() + 7 * DAY + HOUR));
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await scheduler.sweep());
  assert.deepEqual(engine.deleted, ['g-3', 'g-2', 'g-1']);
  assert.equal(results.reduce((n, r) => n + r.graceDeleted, 0), 3);
  assert.equal(results.reduce((n, r) => n + r.pruned, 0), 0);
});
