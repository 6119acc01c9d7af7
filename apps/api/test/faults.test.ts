import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { subjects, WIRE_VERSION } from '@oblako/contracts';
import { TEST_NATS_URL, waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let staff: string;

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  staff = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await node?.stop();
  await h?.close();
});

async function order(token: string, locationId = h.seed.locationId, hostname = 'f-1') {
  return h.http('POST', '/api/v1/servers', { token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId, hostname } });
}

async function heartbeat(nodeId: string): Promise<void> {
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    nc.publish(subjects(h.config.natsSubjectPrefix).nodeHeartbeat(nodeId), JSON.stringify({
      v: WIRE_VERSION, nodeId, at: Date.now(), daemonVersion: 'test', hypervisor: 'test', capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 500 }, domains: [],
    }));
    await nc.flush();
  } finally {
    await nc.close();
  }
}

describe('a node that never connected', () => {
  test('stays pending and gets no servers (the order says no node is available); its first heartbeat makes it online and it gets them', async () => {
    const loc = await h.http('POST', '/api/v1/admin/locations', { token: staff, body: { code: 'new1', name: 'New 1', country: 'DE' } });
    assert.equal(loc.status, 201, JSON.stringify(loc.body));
    const pool = await h.http('POST', '/api/v1/admin/ip-pools', { token: staff, body: { locationId: loc.body.id, cidr: '198.51.100.0/24', gateway: '198.51.100.1' } });
    assert.equal(pool.status, 201, JSON.stringify(pool.body));
    const reg = await h.http('POST', '/api/v1/admin/nodes', { token: staff, body: { name: 'hv-new-1', locationId: loc.body.id, vcpus: 8, memoryMiB: 16384, diskGiB: 500 } });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    assert.equal(reg.body.node.state, 'pending');
    const online = await h.http('POST', '/api/v1/admin/nodes', { token: staff, body: { name: 'hv-new-2', locationId: loc.body.id, vcpus: 8, memoryMiB: 16384, diskGiB: 500, state: 'online' } });
    assert.equal(online.status, 400, 'staff cannot declare a node online');
    assert.match(JSON.stringify(online.body), /online by itself at its first heartbeat/);

    const a = await h.register('pending-node');
    const refused = await order(a.token, loc.body.id, 'p-1');
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'no_node_available');
    assert.match(refused.body.message, /No node is available in this location right now \(1 registered, none online\)/);
    assert.equal((await h.ds.query('SELECT count(*)::int AS n FROM servers WHERE location_id = $1', [loc.body.id]))[0].n, 0, 'nothing was written');

    await heartbeat(reg.body.node.id);
    await waitFor('the node to be online', async () => (await h.http('GET', `/api/v1/admin/nodes/${reg.body.node.id}`, { token: staff })).body.state === 'online' || undefined);
    const placed = await order(a.token, loc.body.id, 'p-2');
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.nodeId, reg.body.node.id);
  });
});

describe('the only node offline', () => {
  test('an order answers no_node_available, not no_capacity; an action on a server there is refused at once with the reason and queues nothing', async () => {
    const a = await h.register('offline-node');
    const b = await h.register('offline-other');
    const created = await order(a.token, h.seed.locationId, 'off-1');
    assert.equal(created.status, 201);
    await waitFor('running', async () => (await h.http('GET', `/api/v1/servers/${created.body.id}`, { token: a.token })).body.state === 'running' || undefined);

    await h.ds.query(`UPDATE nodes SET state = 'offline', last_heartbeat_at = now() - interval '5 minutes' WHERE id = $1`, [h.seed.nodeId]);
    try {
      const refused = await order(a.token, h.seed.locationId, 'off-2');
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'no_node_available');

      const tasksBefore = await h.count('tasks');
      const t0 = Date.now();
      const stop = await h.http('POST', `/api/v1/servers/${created.body.id}/actions`, { token: a.token, body: { action: 'stop' } });
      assert.ok(Date.now() - t0 < 2000, 'refused at once');
      assert.equal(stop.status, 409, JSON.stringify(stop.body));
      assert.equal(stop.body.code, 'node_unavailable');
      assert.match(stop.body.message, /The server's node is offline \(no word from it since .*\); the stop was not sent/);
      const del = await h.http('DELETE', `/api/v1/servers/${created.body.id}`, { token: a.token });
      assert.equal(del.status, 409);
      assert.equal(del.body.code, 'node_unavailable');
      assert.equal(await h.count('tasks'), tasksBefore, 'no task was queued');
      const s = await h.http('GET', `/api/v1/servers/${created.body.id}`, { token: a.token });
      assert.equal(s.body.state, 'running', 'the server is left as it was');
      // another tenant still learns nothing
      assert.equal((await h.http('POST', `/api/v1/servers/${created.body.id}/actions`, { token: b.token, body: { action: 'stop' } })).status, 404);
    } finally {
      await h.ds.query(`UPDATE nodes SET state = 'online', last_heartbeat_at = NULL WHERE id = $1`, [h.seed.nodeId]);
    }
  });
});
