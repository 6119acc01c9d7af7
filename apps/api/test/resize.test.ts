import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeCommand } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { FakeNode, type FakeOutcome } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let admin: string;
/** What the fake node answers next for a command, by op (default: success; null: no answer yet). */
const scripted = new Map<string, (cmd: NodeCommand) => FakeOutcome | null>();

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => (scripted.has(cmd.op) ? scripted.get(cmd.op)!(cmd) : { ok: true }));
  admin = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await node?.stop();
  await h?.close();
});



interface Used { used_vcpus: number; used_memory_mib: number; used_disk_gib: number }
async function used(): Promise<Used> {
  const [r] = await h.ds.query('SELECT used_vcpus, used_memory_mib, used_disk_gib FROM nodes WHERE id = $1', [h.seed.nodeId]);
  return r;
}
/** What the node's live servers add up to: the counters must always equal it once nothing is in flight. */
async function sumOfServers(): Promise<Used> {
  const [r] = await h.ds.query(
    `SELECT coalesce(sum(vcpus), 0)::int AS used_vcpus, coalesce(sum(memory_mib), 0)::int AS used_memory_mib, coalesce(sum(disk_gib), 0)::int AS used_disk_gib
       FROM servers WHERE node_id = $1 AND state <> 'deleted'`,
    [h.seed.nodeId],
  );
  return r;
}

test('a customer resizes a running server to a larger plan: room is held at once, the node gets the new spec, the server shows the new plan', async () => {
  const a = await h.register('resize');
  const b = await h.register('resize-other');
  const id = await h.orderRunning(a.token, 'grow-1');
  const before = await used();

  const options = await h.http('GET', `/api/v1/servers/${id}/resize-options`, { token: a.token });
  assert.equal(options.status, 200);
  const byName = Object.fromEntries(options.body.map((c: { plan: { name: string } }) => [c.plan.name, c]));
  assert.equal(byName.Small.allowed, false);
  assert.match(byName.Small.reason, /already on this plan/);
  assert.equal(byName.Medium.allowed, true);
  assert.equal(byName.Large.allowed, true);

  // another tenant: 404, and nothing is held
  const foreign = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: b.token, body: { planId: h.seed.planIds.medium } });
  assert.equal(foreign.status, 404);
  const bad = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: 'medium' } });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /planId/);

  scripted.set('resize', () => null); // the node takes its time
  try {
    const r = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.medium } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.state, 'resizing');
    assert.equal(r.body.plan.name, 'Small', 'the plan changes when the node confirms');
    const cmd = await waitFor('the resize command', () => node.received.find((c) => c.serverId === id && c.op === 'resize'), { timeoutMs: 5000, intervalMs: 5 });
    assert.ok(cmd.op === 'resize');
    assert.deepEqual(
      { vcpus: cmd.spec.vcpus, memoryMiB: cmd.spec.memoryMiB, diskGiB: cmd.spec.diskGiB, diskIops: cmd.spec.diskIops, diskMBps: cmd.spec.diskMBps, netMbit: cmd.spec.netMbit },
      { vcpus: 2, memoryMiB: 4096, diskGiB: 60, diskIops: 5000, diskMBps: 200, netMbit: 500 },
    );
    // the extra room is held on the node while the node works
    assert.deepEqual(await used(), { used_vcpus: before.used_vcpus + 1, used_memory_mib: before.used_memory_mib + 3072, used_disk_gib: before.used_disk_gib + 40 });
    // a second resize while this one runs: wrong state
    const again = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.large } });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'invalid_transition');
    await node.answer(cmd, { ok: true });
  } finally {
    scripted.delete('resize');
  }
  const done = await h.waitIdle(a.token, id, 'running');
  assert.equal(done.plan.name, 'Medium');
  assert.equal(done.currentTask.op, 'resize');
  assert.equal(done.currentTask.state, 'succeeded');
  assert.deepEqual(await used(), await sumOfServers());
  const [audit] = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'server.resize'`, [id]);
  assert.equal(audit.details.toPlanId, h.seed.planIds.medium);
  assert.equal(audit.details.fromPlanId, h.seed.planIds.small);
});

test('the three refusals: a disk that would shrink, the wrong state, no room on the node (409s, nothing held)', async () => {
  const a = await h.register('refuse');
  const id = await h.orderRunning(a.token, 'refuse-1', h.seed.planIds.medium);
  const start = await used();

  const shrink = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.small } });
  assert.equal(shrink.status, 409);
  assert.equal(shrink.body.code, 'disk_shrink');
  assert.match(shrink.body.message, /disk only grows: this plan has 20 GiB and the server's disk is 60 GiB/);
  // staff may go to any plan, but not shrink a disk either
  const staffShrink = await h.http('POST', `/api/v1/admin/servers/${id}/resize`, { token: admin, body: { planId: h.seed.planIds.small } });
  assert.equal(staffShrink.status, 409);
  assert.equal(staffShrink.body.code, 'disk_shrink');

  await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'pause' } });
  await h.waitIdle(a.token, id, 'paused');
  const paused = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.large } });
  assert.equal(paused.status, 409);
  assert.equal(paused.body.code, 'invalid_transition');
  assert.match(paused.body.message, /paused/);
  await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'resume' } });
  await h.waitIdle(a.token, id, 'running');

  // fill the node's memory up to what large would need minus one MiB
  const [cap] = await h.ds.query('SELECT floor(memory_mib * memory_overcommit)::int AS mem FROM nodes WHERE id = $1', [h.seed.nodeId]);
  const filler = cap.mem - start.used_memory_mib - (8192 - 4096) + 1;
  await h.ds.query('UPDATE nodes SET used_memory_mib = used_memory_mib + $2 WHERE id = $1', [h.seed.nodeId, filler]);
  try {
    const full = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.large } });
    assert.equal(full.status, 409);
    assert.equal(full.body.code, 'no_capacity');
    assert.match(full.body.message, /No room: the server's node/);
    const after = await used();
    assert.equal(after.used_memory_mib, start.used_memory_mib + filler, 'nothing was held');
  } finally {
    await h.ds.query('UPDATE nodes SET used_memory_mib = used_memory_mib - $2 WHERE id = $1', [h.seed.nodeId, filler]);
  }
  const view = await h.http('GET', `/api/v1/servers/${id}`, { token: a.token });
  assert.equal(view.body.state, 'running');
  assert.equal(view.body.plan.name, 'Medium');
  assert.deepEqual(await used(), start);
});

test('a resize the node fails keeps the old plan and gives the held room back; staff may move a server to a plan not on sale', async () => {
  const a = await h.register('fail');
  const id = await h.orderRunning(a.token, 'fail-1');
  const start = await used();
  scripted.set('resize', () => ({ ok: false, error: { code: 'host_error', message: 'qemu-img resize failed' } }));
  try {
    const r = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.large } });
    assert.equal(r.status, 202);
    const back = await h.waitIdle(a.token, id, 'running');
    assert.equal(back.plan.name, 'Small');
    assert.equal(back.currentTask.state, 'failed');
    assert.match(back.currentTask.error, /^host_error: qemu-img resize failed/);
  } finally {
    scripted.delete('resize');
  }
  assert.deepEqual(await used(), start);

  // a plan off sale: the customer may not choose it, staff may
  const [{ id: hidden }] = await h.ds.query(
    `INSERT INTO plans (name, vcpus, memory_mib, disk_gib, cpu_quota_percent, disk_iops, disk_mbps, net_mbit, traffic_gib, price_monthly_cents, currency, active)
     VALUES ('Legacy', 1, 2048, 30, 50, 1000, 50, 50, 500, 700, 'EUR', false) RETURNING id`,
  );
  const customer = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: hidden } });
  assert.equal(customer.status, 409);
  assert.equal(customer.body.code, 'plan_not_allowed');
  const staffOptions = await h.http('GET', `/api/v1/admin/servers/${id}/resize-options`, { token: admin });
  assert.equal(staffOptions.body.find((c: { plan: { id: string } }) => c.plan.id === hidden).allowed, true);
  const custOptions = await h.http('GET', `/api/v1/servers/${id}/resize-options`, { token: a.token });
  assert.equal(custOptions.body.some((c: { plan: { id: string } }) => c.plan.id === hidden), false, 'customers see only plans on sale');
  const staff = await h.http('POST', `/api/v1/admin/servers/${id}/resize`, { token: admin, body: { planId: hidden } });
  assert.equal(staff.status, 202, JSON.stringify(staff.body));
  const moved = await h.waitIdle(a.token, id, 'running');
  assert.equal(moved.plan.name, 'Legacy');
  assert.deepEqual(await used(), await sumOfServers());
  // a stopped server resizes too, and stays stopped
  await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } });
  await h.waitIdle(a.token, id, 'stopped');
  const cold = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.medium } });
  assert.equal(cold.status, 202, JSON.stringify(cold.body));
  const stopped = await h.waitIdle(a.token, id, 'stopped');
  assert.equal(stopped.plan.name, 'Medium');
  assert.deepEqual(await used(), await sumOfServers());
});

test('rescue and unrescue through the API: rescue is a state of its own, with its own refusals; a failed rescue goes back', async () => {
  const a = await h.register('rescue');
  const b = await h.register('rescue-other');
  const id = await h.orderRunning(a.token, 'rescue-1');
  const foreign = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: b.token, body: { action: 'rescue' } });
  assert.equal(foreign.status, 404);
  const notYet = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'unrescue' } });
  assert.equal(notYet.status, 409);
  assert.match(notYet.body.message, /unrescue is allowed only when it is rescue/);

  const r = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'rescue' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.state, 'rescuing');
  const inRescue = await h.waitIdle(a.token, id, 'rescue');
  assert.equal(inRescue.currentTask.op, 'rescue');
  const cmd = node.received.find((c) => c.serverId === id && c.op === 'rescue');
  assert.ok(cmd && cmd.op === 'rescue');
  assert.deepEqual(cmd.spec.addresses.map((x) => x.address), inRescue.addresses.map((x: { address: string }) => x.address), 'the rescue system gets the server\'s own addresses');
  for (const action of ['reboot', 'stop', 'rebuild', 'pause']) {
    const refused = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action } });
    assert.equal(refused.status, 409, `${action} in rescue`);
  }
  const resize = await h.http('POST', `/api/v1/servers/${id}/resize`, { token: a.token, body: { planId: h.seed.planIds.medium } });
  assert.equal(resize.status, 409);
  assert.equal(resize.body.code, 'invalid_transition');

  // a failed unrescue leaves it in rescue, with the node's reason
  scripted.set('unrescue', () => ({ ok: false, error: { code: 'host_error', message: 'define failed' } }));
  try {
    await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'unrescue' } });
    const still = await h.waitIdle(a.token, id, 'rescue');
    assert.equal(still.currentTask.state, 'failed');
  } finally {
    scripted.delete('unrescue');
  }
  const out = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'unrescue' } });
  assert.equal(out.status, 202);
  assert.equal(out.body.state, 'unrescuing');
  await h.waitIdle(a.token, id, 'running');

  // a node without a rescue system says so, and the server stays as it was
  scripted.set('rescue', () => ({ ok: false, error: { code: 'not_supported', message: 'this node has no rescue system' } }));
  try {
    await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'rescue' } });
    const back = await h.waitIdle(a.token, id, 'running');
    assert.match(back.currentTask.error, /^not_supported: this node has no rescue system/);
  } finally {
    scripted.delete('rescue');
  }
  // a server in rescue can still be deleted
  await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'rescue' } });
  await h.waitIdle(a.token, id, 'rescue');
  const del = await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token });
  assert.equal(del.status, 202, JSON.stringify(del.body));
});
