import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let admin: string;

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  admin = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await node?.stop();
  await h?.close();
});

function order(token: string, hostname: string) {
  return h.http('POST', '/api/v1/servers', {
    token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname },
  });
}

async function waitState(token: string, id: string, state: string) {
  return waitFor(`server ${id} to be ${state}`, async () => {
    const r = await h.http('GET', `/api/v1/servers/${id}`, { token });
    return r.body.state === state && !['queued', 'dispatched', 'running'].includes(r.body.currentTask?.state) ? r.body : undefined;
  }, { timeoutMs: 8000, intervalMs: 20 });
}

async function running(token: string, hostname: string): Promise<string> {
  const r = await order(token, hostname);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitState(token, r.body.id, 'running');
  return r.body.id as string;
}

async function state(token: string, id: string): Promise<string> {
  return (await h.http('GET', `/api/v1/servers/${id}`, { token })).body.state;
}

const opsFor = (id: string) => node.received.filter((c) => c.serverId === id).map((c) => c.op);

describe('staff suspend and unsuspend whole tenants', () => {
  test('suspend holds every live server of the tenant, refuses orders and starts; unsuspend restores what ran and keeps single-server holds', async () => {
    const a = await h.register('susp-a');
    const b = await h.register('susp-b');
    const aRunning = await running(a.token, 'a-running');
    const aStopped = await running(a.token, 'a-stopped');
    const aHeld = await running(a.token, 'a-held');
    const bRunning = await running(b.token, 'b-running');
    assert.equal((await h.http('POST', `/api/v1/servers/${aStopped}/actions`, { token: a.token, body: { action: 'stop' } })).status, 202);
    await waitState(a.token, aStopped, 'stopped');
    // Staff hold one server on its own first, for another reason.
    const single = await h.http('POST', `/api/v1/admin/servers/${aHeld}/suspend`, { token: admin, body: { reason: 'abuse report 7' } });
    assert.equal(single.status, 200, JSON.stringify(single.body));
    await waitState(a.token, aHeld, 'suspended');

    // Members of the tenant are not staff.
    const apiToken = await h.http('POST', '/api/v1/api-tokens', { token: a.token, body: { name: 'ci' } });
    assert.equal(apiToken.status, 201);
    for (const token of [a.token, apiToken.body.token as string]) {
      for (const op of ['suspend', 'unsuspend']) {
        const r = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/${op}`, { token, body: { reason: 'let me out' } });
        assert.ok(r.status === 403 || r.status === 404, `${op} as a member: ${r.status} ${JSON.stringify(r.body)}`);
      }
      assert.equal((await h.http('GET', '/api/v1/admin/tenants', { token })).status, 403);
    }
    assert.equal((await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { body: { reason: 'anonymous' } })).status, 401);

    // Bad input.
    const noReason = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { token: admin, body: {} });
    assert.equal(noReason.status, 400);
    assert.equal(noReason.body.code, 'validation_failed');
    assert.match(JSON.stringify(noReason.body), /reason is required/);
    const short = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { token: admin, body: { reason: 'no' } });
    assert.equal(short.status, 400);
    assert.match(JSON.stringify(short.body), /at least 3 characters/);
    const blank = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { token: admin, body: { reason: '     ' } });
    assert.equal(blank.status, 400);
    assert.match(JSON.stringify(blank.body), /must not be blank/);
    const long = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { token: admin, body: { reason: 'x'.repeat(501) } });
    assert.equal(long.status, 400);
    assert.match(JSON.stringify(long.body), /at most 500/);
    const unknown = await h.http('POST', `/api/v1/admin/tenants/${randomUUID()}/suspend`, { token: admin, body: { reason: 'who is this' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'tenant_not_found');
    assert.match(unknown.body.message, /No tenant with id/);
    const notUuid = await h.http('POST', '/api/v1/admin/tenants/not-a-uuid/suspend', { token: admin, body: { reason: 'who is this' } });
    assert.equal(notUuid.status, 400);
    assert.match(notUuid.body.message, /must be a UUID/);
    const notSuspended = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/unsuspend`, { token: admin, body: { reason: 'premature' } });
    assert.equal(notSuspended.status, 409);
    assert.equal(notSuspended.body.code, 'tenant_not_suspended');
    const [{ n: unchanged }] = await h.ds.query(`SELECT count(*)::int AS n FROM tenants WHERE suspended_at IS NOT NULL`);
    assert.equal(unchanged, 0, 'refused requests changed nothing');

    // Suspend A.
    const reason = 'chargeback investigation #42';
    const sus = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { token: admin, body: { reason } });
    assert.equal(sus.status, 200, JSON.stringify(sus.body));
    assert.equal(sus.body.tenant.id, a.tenantId);
    assert.equal(sus.body.tenant.suspendedReason, reason);
    assert.ok(!Number.isNaN(Date.parse(sus.body.tenant.suspendedAt)));
    assert.deepEqual([...sus.body.serverIds].sort(), [aRunning, aStopped].sort());
    assert.deepEqual(sus.body.alreadyHeld, [aHeld]);
    const again = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { token: admin, body: { reason: 'twice' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'tenant_already_suspended');
    assert.match(again.body.message, /chargeback investigation #42/);

    // A's servers are suspended at once, with suspend tasks for the node.
    for (const id of [aRunning, aStopped]) {
      assert.equal(await state(a.token, id), 'suspended');
      const [task] = await h.ds.query(`SELECT op FROM tasks WHERE server_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, [id]);
      assert.equal(task.op, 'suspend');
      await waitFor(`the node told to suspend ${id}`, () => opsFor(id).includes('suspend'));
      await waitState(a.token, id, 'suspended');
    }
    const [holds] = await h.ds.query(`SELECT count(*)::int AS n FROM server_billing WHERE tenant_id = $1 AND staff_hold_reason = $2`, [a.tenantId, `Tenant suspended: ${reason}`]);
    assert.equal(holds.n, 2);
    const [keptHold] = await h.ds.query(`SELECT staff_hold_reason FROM server_billing WHERE server_id = $1`, [aHeld]);
    assert.equal(keptHold.staff_hold_reason, 'abuse report 7', 'the earlier single-server hold keeps its own reason');

    // A cannot order or start; the reasons say what to do.
    const refused = await order(a.token, 'a-new');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'tenant_suspended');
    assert.match(refused.body.message, /suspended.*contact support/i);
    const viaToken = await order(apiToken.body.token, 'a-new-ci');
    assert.equal(viaToken.status, 403);
    assert.equal(viaToken.body.code, 'tenant_suspended');
    for (const id of [aRunning, aStopped]) {
      const start = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'start' } });
      assert.equal(start.status, 409);
      assert.equal(start.body.code, 'invalid_transition');
      assert.match(start.body.message, /your account is suspended.*contact support/i);
    }
    const heldStart = await h.http('POST', `/api/v1/servers/${aHeld}/actions`, { token: a.token, body: { action: 'reboot' } });
    assert.equal(heldStart.status, 409);
    assert.match(heldStart.body.message, /suspended.*contact support/i);

    // A's members can still log in and read.
    const relogin = await h.login(a.email, a.password);
    const list = await h.http('GET', '/api/v1/servers', { token: relogin });
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 3);
    assert.equal((await h.http('GET', `/api/v1/servers/${aRunning}/tasks`, { token: relogin })).status, 200);
    assert.equal((await h.http('GET', '/api/v1/billing/invoices', { token: relogin })).status, 200);
    assert.equal((await h.http('GET', '/api/v1/members', { token: relogin })).status, 200);

    // B is untouched and can order.
    assert.equal(await state(b.token, bRunning), 'running');
    assert.ok(!opsFor(bRunning).includes('suspend'));
    const bOrder = await order(b.token, 'b-second');
    assert.equal(bOrder.status, 201, JSON.stringify(bOrder.body));

    // Staff see the suspension in the tenant list.
    const tenants = await h.http('GET', '/api/v1/admin/tenants', { token: admin });
    assert.equal(tenants.status, 200);
    const rowA = tenants.body.find((t: { id: string }) => t.id === a.tenantId);
    const rowB = tenants.body.find((t: { id: string }) => t.id === b.tenantId);
    assert.equal(rowA.suspendedReason, reason);
    assert.equal(rowA.suspendedAt, sus.body.tenant.suspendedAt);
    assert.equal(rowB.suspendedAt, null);
    assert.equal(rowB.suspendedReason, null);

    // Unsuspend A: what ran runs again, what was stopped stays stopped, the single-server hold stays.
    const uns = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/unsuspend`, { token: admin, body: { reason: 'investigation closed' } });
    assert.equal(uns.status, 200, JSON.stringify(uns.body));
    assert.equal(uns.body.tenant.suspendedAt, null);
    assert.equal(uns.body.tenant.suspendedReason, null);
    assert.deepEqual([...uns.body.serverIds].sort(), [aRunning, aStopped].sort());
    await waitState(a.token, aRunning, 'running');
    assert.ok(opsFor(aRunning).includes('unsuspend'), 'the node was told to start it again');
    await waitState(a.token, aStopped, 'stopped');
    assert.ok(!opsFor(aStopped).includes('unsuspend'), 'nothing to start on the node');
    assert.equal(await state(a.token, aHeld), 'suspended');
    const [stillHeld] = await h.ds.query(`SELECT staff_hold, staff_hold_reason FROM server_billing WHERE server_id = $1`, [aHeld]);
    assert.deepEqual(stillHeld, { staff_hold: true, staff_hold_reason: 'abuse report 7' });
    const heldAfter = await h.http('POST', `/api/v1/servers/${aHeld}/actions`, { token: a.token, body: { action: 'reboot' } });
    assert.equal(heldAfter.status, 409);
    assert.match(heldAfter.body.message, /suspended by our staff.*contact support/i);

    // Orders and starts work again.
    const reorder = await order(a.token, 'a-after');
    assert.equal(reorder.status, 201, JSON.stringify(reorder.body));
    assert.equal((await h.http('POST', `/api/v1/servers/${aStopped}/actions`, { token: a.token, body: { action: 'start' } })).status, 202);
    await waitState(a.token, aStopped, 'running');

    // Audited, with the reasons, as staff.
    const audit = await h.ds.query(
      `SELECT action, actor_kind, actor_user_id, target_id, details FROM audit_log WHERE tenant_id = $1 AND action IN ('tenant.suspend', 'tenant.unsuspend') ORDER BY id`,
      [a.tenantId],
    );
    assert.deepEqual(audit.map((r: { action: string }) => r.action), ['tenant.suspend', 'tenant.unsuspend']);
    for (const r of audit) {
      assert.equal(r.actor_kind, 'staff');
      assert.equal(r.actor_user_id, h.seed.admin.userId);
      assert.equal(r.target_id, a.tenantId);
    }
    assert.equal(audit[0].details.reason, reason);
    assert.deepEqual(audit[0].details.alreadyHeld, [aHeld]);
    assert.equal(audit[1].details.reason, 'investigation closed');
    assert.equal(audit[1].details.suspendedReason, reason);
    const serverAudit = await h.ds.query(
      `SELECT action, details->>'reason' AS reason FROM audit_log WHERE target_id = $1 AND action LIKE 'server.staff_%' ORDER BY id`,
      [aRunning],
    );
    assert.deepEqual(serverAudit, [
      { action: 'server.staff_suspend', reason: `Tenant suspended: ${reason}` },
      { action: 'server.staff_unsuspend', reason: 'Tenant unsuspended: investigation closed' },
    ]);
    const viaApi = await h.http('GET', `/api/v1/admin/audit?tenantId=${a.tenantId}`, { token: admin });
    assert.equal(viaApi.status, 200);
  });

  for (const capped of [false, true]) {
    test(`a server ordered while the suspension commits is held too (no order slips past the flag; ${capped ? 'tenant with a server cap' : 'no cap'})`, async () => {
      const c = await h.register('susp-race');
      if (capped) assert.equal((await h.http('PATCH', `/api/v1/admin/tenants/${c.tenantId}`, { token: admin, body: { serverLimit: 50 } })).status, 200);
      await running(c.token, 'c-first');
      // Orders spread over the moment the suspension lands: each either commits first (and is held) or is refused.
      const orders = Array.from({ length: 12 }, (_, i) => sleep(i * 30).then(() => order(c.token, `c-race-${i}`)));
      const sus = sleep(100).then(() => h.http('POST', `/api/v1/admin/tenants/${c.tenantId}/suspend`, { token: admin, body: { reason: 'race check' } }));
      const results = await Promise.all(orders);
      assert.equal((await sus).status, 200);
      for (const r of results) assert.ok(r.status === 201 || (r.status === 403 && r.body.code === 'tenant_suspended'), `${r.status} ${JSON.stringify(r.body)}`);
      // Every server that exists is held by the suspension.
      const unheld = await h.ds.query(
        `SELECT s.id FROM servers s LEFT JOIN server_billing sb ON sb.server_id = s.id
          WHERE s.tenant_id = $1 AND s.state NOT IN ('deleted', 'deleting') AND NOT COALESCE(sb.staff_hold, false)`,
        [c.tenantId],
      );
      assert.deepEqual(unheld, []);
      // Servers still provisioning when held are suspended once they are up (the billing worker's sweep).
      const all = (await h.http('GET', '/api/v1/servers?limit=50', { token: c.token })).body.items as { id: string }[];
      for (const s of all) await waitState(c.token, s.id, 'suspended');
    });
  }
});
