import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeView, Page, ServerView, TaskView } from '@oblako/contracts';
import { connect } from '@nats-io/transport-node';
import { subjects, HeartbeatSchema } from '@oblako/contracts';
import type { ApiClient } from '@oblako/devstack';
import { waitFor } from '@oblako/testing';
import { newCustomer, startE2E, waitForState, type E2E } from './support.js';

let e: E2E;
before(async () => {
  e = await startE2E();
});
after(async () => {
  await e?.close();
});

/** The domains the node daemon reports in its next heartbeat: what libvirt itself holds. */
async function domainsOnNode(): Promise<{ serverId: string; state: string }[]> {
  const nc = await connect({ servers: e.stack.natsUrl });
  try {
    const sub = nc.subscribe(subjects(e.stack.subjectPrefix).nodeHeartbeat(e.stack.seed.nodeId), { max: 1 });
    for await (const m of sub) return HeartbeatSchema.parse(m.json()).domains;
    throw new Error('no heartbeat');
  } finally {
    await nc.close();
  }
}

describe('a server through its whole life, API and node daemon as separate processes', () => {
  test('order -> running -> stop -> start -> reboot -> delete', async () => {
    const customer = await newCustomer(e.stack, 'acme');
    const [location] = await customer.ok<{ id: string }[]>('GET', '/api/v1/locations');
    const plans = await customer.ok<{ id: string; name: string; vcpus: number; memoryMiB: number }[]>('GET', '/api/v1/plans');
    const [image] = await customer.ok<{ id: string }[]>('GET', '/api/v1/images');
    const plan = plans[0]!;
    const nodesBefore = await e.admin.ok<NodeView[]>('GET', '/api/v1/admin/nodes');

    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', {
      planId: plan.id,
      imageId: image!.id,
      locationId: location!.id,
      hostname: 'www.acme.example',
    });
    assert.equal(created.state, 'provisioning');
    const running = await waitForState(customer, created.id, 'running');
    assert.equal(running.addresses.length, 1, 'a running server shows its IPv4 address');
    assert.equal(running.addresses[0]!.family, 4);
    assert.equal(running.nodeId, e.stack.seed.nodeId);
    assert.equal(running.plan.id, plan.id);
    assert.deepEqual(
      (await domainsOnNode()).filter((d) => d.serverId === created.id),
      [{ serverId: created.id, state: 'running' }],
      'libvirt on the node holds exactly one running domain for the server',
    );

    const stop = await customer.call('POST', `/api/v1/servers/${created.id}/actions`, { action: 'stop' });
    assert.equal(stop.status, 202, JSON.stringify(stop.body));
    await waitForState(customer, created.id, 'stopped');
    assert.equal((await domainsOnNode()).find((d) => d.serverId === created.id)?.state, 'shutoff');

    const stopAgain = await customer.call<{ code: string; message: string }>('POST', `/api/v1/servers/${created.id}/actions`, { action: 'stop' });
    assert.equal(stopAgain.status, 409);
    assert.match(stopAgain.body.message, /stopped/);

    await customer.ok('POST', `/api/v1/servers/${created.id}/actions`, { action: 'start' });
    await waitForState(customer, created.id, 'running');
    assert.equal((await domainsOnNode()).find((d) => d.serverId === created.id)?.state, 'running');

    await customer.ok('POST', `/api/v1/servers/${created.id}/actions`, { action: 'reboot' });
    await waitForState(customer, created.id, 'running');

    const images = await customer.ok<{ id: string }[]>('GET', '/api/v1/images');
    const other = images.find((i) => i.id !== image!.id) ?? image!;
    await customer.ok('POST', `/api/v1/servers/${created.id}/actions`, { action: 'rebuild', imageId: other.id });
    const rebuilt = await waitForState(customer, created.id, 'running');
    assert.equal(rebuilt.image.id, other.id, 'the server now runs the chosen image');
    assert.deepEqual(rebuilt.addresses, running.addresses, 'rebuild keeps the addresses');
    const wrong = await customer.call<{ message: string }>('POST', `/api/v1/servers/${created.id}/actions`, { action: 'start', imageId: other.id });
    assert.equal(wrong.status, 400);

    const del = await customer.call('DELETE', `/api/v1/servers/${created.id}`);
    assert.ok(del.status === 202 || del.status === 204, `delete answered ${del.status}`);
    await waitForDeleted(customer, created.id);
    assert.equal((await domainsOnNode()).find((d) => d.serverId === created.id), undefined, 'the domain is gone from libvirt');

    const tasks = await customer.call<TaskView[] | Page<TaskView>>('GET', `/api/v1/servers/${created.id}/tasks`);
    if (tasks.status === 200) {
      const list = Array.isArray(tasks.body) ? tasks.body : tasks.body.items;
      assert.deepEqual(new Set(list.map((t) => t.op)), new Set(['create', 'stop', 'start', 'reboot', 'rebuild', 'delete']));
      assert.ok(list.every((t) => t.state === 'succeeded'), JSON.stringify(list.map((t) => [t.op, t.state, t.error])));
    } else {
      assert.equal(tasks.status, 404, 'a deleted server answers 404 for its tasks, or lists them');
    }

    const nodesAfter = await e.admin.ok<NodeView[]>('GET', '/api/v1/admin/nodes');
    const before = nodesBefore.find((n) => n.id === e.stack.seed.nodeId)!;
    const afterNode = nodesAfter.find((n) => n.id === e.stack.seed.nodeId)!;
    assert.equal(afterNode.usedVcpus, before.usedVcpus, 'capacity is released');
    assert.equal(afterNode.usedMemoryMiB, before.usedMemoryMiB);
  });
});

describe('a default test stack verifies its images as production does', () => {
  test('the seeded images are verified by the node itself; an image it cannot fetch is neither offered nor orderable', async () => {
    // the stack seeds real files with their sha256; its node fetched and checked them before the stack was up
    const images = await e.admin.ok<{ id: string; name: string }[]>('GET', '/api/v1/admin/images');
    for (const img of images) {
      const [state] = await e.admin.ok<{ nodeId: string; state: string }[]>('GET', `/api/v1/admin/images/${img.id}/nodes`);
      assert.equal(state?.state, 'verified', `${img.name} verified by the node`);
    }
    // an image whose file is not there: the node says so, and customers never get it
    const missing = await e.admin.ok<{ id: string }>('POST', '/api/v1/admin/images', {
      name: 'Not on disk', osFamily: 'debian', version: '13', url: 'file:///nonexistent/oblako-e2e.qcow2', sha256: 'a'.repeat(64), format: 'qcow2',
    });
    const reason = await waitFor('the node to check the new image', async () => {
      const [state] = await e.admin.ok<{ state: string; reason: string | null }[]>('GET', `/api/v1/admin/images/${missing.id}/nodes`);
      return state?.state === 'failed' ? state.reason : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    assert.ok(reason, 'the node gave its reason');
    const customer = await newCustomer(e.stack, 'gate');
    const offered = await customer.ok<{ id: string }[]>('GET', '/api/v1/images');
    assert.ok(!offered.some((i) => i.id === missing.id), 'not offered');
    assert.equal(offered.length, images.length);
    const r = await customer.call<{ code: string }>('POST', '/api/v1/servers', { planId: e.stack.seed.planIds.small, imageId: missing.id, locationId: e.stack.seed.locationId, hostname: 'gate-1' });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'image_unverified');
  });
});

async function waitForDeleted(customer: ApiClient, id: string): Promise<void> {
  await waitFor(`server ${id} to be deleted`, async () => {
    const r = await customer.call<ServerView>('GET', `/api/v1/servers/${id}`);
    return r.status === 404 || r.body.state === 'deleted';
  }, { timeoutMs: 15_000, intervalMs: 20 });
  const list = await customer.ok<Page<ServerView>>('GET', '/api/v1/servers');
  assert.equal(list.items.find((s) => s.id === id && s.state !== 'deleted'), undefined, 'a deleted server leaves the list');
}
