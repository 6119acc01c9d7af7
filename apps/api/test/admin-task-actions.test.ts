import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeCommand } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { FakeNode, type FakeOutcome } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let staff: string;
/** Host names whose first reboot fails; host names whose stop or delete the node never answers. */
const failedOnce = new Set<string>();
const hostnameOf = new Map<string, string>();
before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd: NodeCommand): FakeOutcome | null => {
    if (cmd.op === 'create') hostnameOf.set(cmd.serverId, cmd.spec.hostname);
    const host = hostnameOf.get(cmd.serverId) ?? '';
    if (cmd.op === 'reboot' && host.startsWith('flaky') && !failedOnce.has(cmd.serverId)) {
      failedOnce.add(cmd.serverId);
      return { ok: false, error: { code: 'libvirt', message: 'domain did not come back' } };
    }
    if ((cmd.op === 'stop' || cmd.op === 'delete') && host.startsWith('stuck')) return null;
    return { ok: true };
  });
  staff = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await node?.stop();
  await h?.close();
});

const body = (hostname: string) => ({ planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname });

async function running(token: string, hostname: string): Promise<string> {
  const r = await h.http('POST', '/api/v1/servers', { token, body: body(hostname) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitFor(`${hostname} running`, async () => (await h.http('GET', `/api/v1/servers/${r.body.id}`, { token })).body.state === 'running');
  return r.body.id as string;
}

async function lastTask(token: string, serverId: string) {
  return (await h.http('GET', `/api/v1/servers/${serverId}/tasks`, { token })).body[0];
}

test('staff retry a failed task: the same operation runs again, audited with the reason and names', async () => {
  const a = await h.register('retry-a');
  const id = await running(a.token, 'flaky-1');
  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'reboot' } })).status, 202);
  await waitFor('the reboot to fail', async () => (await lastTask(a.token, id))?.state === 'failed');
  const failed = await lastTask(a.token, id);

  // the list names the tenant and the node, and filters by tenant
  const list = await h.http('GET', `/api/v1/admin/tasks?state=failed&tenantId=${a.tenantId}`, { token: staff });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.equal(list.body.items.length, 1);
  assert.equal(list.body.items[0].tenantName, 'Tenant retry-a');
  assert.equal(list.body.items[0].nodeName, (await h.ds.query('SELECT name FROM nodes WHERE id = $1', [h.seed.nodeId]))[0].name);
  assert.equal(list.body.items[0].serverState, 'running');

  // a customer cannot; a reason is required; the create is not retryable; an unknown task is a 404
  const customer = await h.http('POST', `/api/v1/admin/tasks/${failed.id}/retry`, { token: a.token, body: { reason: 'me too' } });
  assert.ok(customer.status === 403 || customer.status === 404, `a customer got ${customer.status}`);
  assert.equal((await h.http('POST', `/api/v1/admin/tasks/${failed.id}/retry`, { token: staff, body: { reason: '  ' } })).status, 400);
  assert.equal((await h.http('POST', `/api/v1/admin/tasks/${failed.id}/retry`, { token: staff, body: {} })).status, 400);
  assert.equal((await h.http('POST', '/api/v1/admin/tasks/00000000-0000-4000-8000-000000000000/retry', { token: staff, body: { reason: 'nothing' } })).status, 404);
  const tasks = (await h.http('GET', `/api/v1/servers/${id}/tasks`, { token: a.token })).body as { id: string; op: string }[];
  const create = tasks.find((t) => t.op === 'create')!;
  assert.equal((await h.http('POST', `/api/v1/admin/tasks/${create.id}/retry`, { token: staff, body: { reason: 'again' } })).status, 409, 'a succeeded task is not retried');

  const retry = await h.http('POST', `/api/v1/admin/tasks/${failed.id}/retry`, { token: staff, body: { reason: 'node hv1 repaired' } });
  assert.equal(retry.status, 202, JSON.stringify(retry.body));
  assert.equal(retry.body.state, 'rebooting');
  await waitFor('the retried reboot to succeed', async () => {
    const t = await lastTask(a.token, id);
    return t.op === 'reboot' && t.state === 'succeeded' && t.id !== failed.id;
  });
  const again = await h.http('POST', `/api/v1/admin/tasks/${failed.id}/retry`, { token: staff, body: { reason: 'twice' } });
  assert.equal(again.status, 409, 'an older failed task is not retried once a newer one ran');

  const audit = await h.http('GET', `/api/v1/admin/audit?action=task.&targetId=${id}`, { token: staff });
  assert.equal(audit.status, 200, JSON.stringify(audit.body));
  const entry = audit.body.find((e: { action: string }) => e.action === 'task.retry');
  assert.ok(entry, JSON.stringify(audit.body));
  assert.equal(entry.details.reason, 'node hv1 repaired');
  assert.equal(entry.targetName, 'flaky-1');
  assert.equal(entry.tenantName, 'Tenant retry-a');
  assert.equal(entry.actorEmail, ADMIN.email);
  assert.ok(audit.body.every((e: { action: string }) => e.action.startsWith('task.')), 'the action prefix filters');
  assert.equal((await h.http('GET', '/api/v1/admin/audit?action=DROP TABLE', { token: staff })).status, 400);

  // the server page names its node; the staff list names the tenant
  const view = (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body;
  assert.equal(view.nodeName, entry && list.body.items[0].nodeName);
  const all = await h.http('GET', `/api/v1/admin/servers?tenantId=${a.tenantId}`, { token: staff });
  assert.equal(all.body.items[0].tenantName, 'Tenant retry-a');
});

test('staff cancel a task the node never answers; the server goes back to where it was', async () => {
  const a = await h.register('cancel-a');
  const id = await running(a.token, 'stuck-1');
  assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } })).status, 202);
  const stop = await lastTask(a.token, id);
  assert.equal((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state, 'stopping');
  assert.equal((await h.http('POST', `/api/v1/admin/tasks/${stop.id}/cancel`, { token: staff, body: { reason: 'node hung' } })).status, 204);
  const after = (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body;
  assert.equal(after.state, 'running');
  const t = await lastTask(a.token, id);
  assert.equal(t.state, 'failed');
  assert.match(t.error, /cancelled by staff: node hung/);
  assert.equal((await h.http('POST', `/api/v1/admin/tasks/${stop.id}/cancel`, { token: staff, body: { reason: 'again' } })).status, 409, 'a finished task is not cancelled');
  const audit = await h.http('GET', `/api/v1/admin/audit?action=task.cancel&targetId=${id}`, { token: staff });
  assert.equal(audit.body.length, 1);
  assert.equal(audit.body[0].details.reason, 'node hung');
});

test('staff force-delete a server stuck in deleting: it is deleted and its capacity and address are free again', async () => {
  const a = await h.register('force-a');
  const id = await running(a.token, 'stuck-2');
  const usedBefore = Number((await h.ds.query('SELECT used_vcpus FROM nodes WHERE id = $1', [h.seed.nodeId]))[0].used_vcpus);
  assert.equal((await h.http('POST', `/api/v1/admin/servers/${id}/force-delete`, { token: staff, body: { reason: 'early' } })).status, 409, 'a running server is deleted the ordinary way');
  assert.equal((await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token })).status, 202);
  assert.equal((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state, 'deleting');
  const other = await h.register('force-b');
  const foreign = await h.http('POST', `/api/v1/admin/servers/${id}/force-delete`, { token: other.token, body: { reason: 'not mine' } });
  assert.ok(foreign.status === 403 || foreign.status === 404, `a customer got ${foreign.status}`);

  const r = await h.http('POST', `/api/v1/admin/servers/${id}/force-delete`, { token: staff, body: { reason: 'node lost its disk' } });
  assert.equal(r.status, 204, JSON.stringify(r.body));
  const view = (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body;
  assert.equal(view.state, 'deleted');
  assert.equal(view.addresses.length, 0, 'its address is released');
  const usedAfter = Number((await h.ds.query('SELECT used_vcpus FROM nodes WHERE id = $1', [h.seed.nodeId]))[0].used_vcpus);
  assert.ok(usedAfter < usedBefore, `capacity released (${usedBefore} -> ${usedAfter})`);
  assert.equal((await lastTask(a.token, id)).state, 'failed', 'the delete task that never finished failed');
  const audit = await h.http('GET', `/api/v1/admin/audit?action=server.force_delete`, { token: staff });
  assert.equal(audit.body[0].targetId, id);
  assert.equal(audit.body[0].details.reason, 'node lost its disk');
});

test("a suspended team's members see the suspension and its reason in /auth/me", async () => {
  const a = await h.register('susp-a');
  const r = await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/suspend`, { token: staff, body: { reason: 'unpaid invoice 42' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const me = (await h.http('GET', '/api/v1/auth/me', { token: a.token })).body;
  const m = me.memberships.find((x: { tenantId: string }) => x.tenantId === a.tenantId);
  assert.ok(m.suspendedAt);
  assert.equal(m.suspendedReason, 'unpaid invoice 42');
  await h.http('POST', `/api/v1/admin/tenants/${a.tenantId}/unsuspend`, { token: staff, body: { reason: 'paid' } });
  const again = (await h.http('GET', '/api/v1/auth/me', { token: a.token })).body.memberships.find((x: { tenantId: string }) => x.tenantId === a.tenantId);
  assert.equal(again.suspendedAt, null);
});
