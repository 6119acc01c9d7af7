import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjects, WIRE_VERSION } from '@oblako/contracts';
import { TEST_NATS_URL, waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

/**
 * Orphans: a node lists a domain it should no longer hold (the server lives on another node, or was deleted).
 * After the grace the node is told to destroy it (an `orphan_destroy` command), its answer is recorded and audited
 * as the system, and staff see it on the node. No alarm while a task of the server on that node runs, nor for a
 * heartbeat taken before a delete finished. Two simulated nodes; their heartbeats list what each test says.
 */
const GRACE_S = 1;
let h: Harness;
let nc: NatsConnection;
let staff: string;
let nodeA: string;
let nodeB: string;
const fakes = new Map<string, FakeNode>();
/** What each node's heartbeat lists, and the time it says it was taken (default: now). */
const listed = new Map<string, () => string[]>();
const takenAt = new Map<string, () => number>();
let beating: NodeJS.Timeout;

before(async () => {
  h = await startHarness({ env: { RECONCILE_GRACE_SECONDS: String(GRACE_S), NODE_OFFLINE_AFTER_SECONDS: '5' } });
  nc = await connect({ servers: TEST_NATS_URL });
  staff = await h.login(ADMIN.email, ADMIN.password);
  nodeA = h.seed.nodeId;
  const reg = await h.http('POST', '/api/v1/admin/nodes', { token: staff, body: { name: 'hv-orphan-b', locationId: h.seed.locationId, vcpus: 8, memoryMiB: 16384, diskGiB: 500 } });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  nodeB = reg.body.node.id;
  for (const id of [nodeA, nodeB]) {
    fakes.set(id, await FakeNode.start(h.config.natsSubjectPrefix, id));
    listed.set(id, () => []);
  }
  beating = setInterval(() => {
    for (const id of [nodeA, nodeB]) {
      nc.publish(subjects(h.config.natsSubjectPrefix).nodeHeartbeat(id), JSON.stringify({
        v: WIRE_VERSION, nodeId: id, at: takenAt.get(id)?.() ?? Date.now(), daemonVersion: 'test', hypervisor: 'test', capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 500 },
        domains: listed.get(id)!().map((serverId) => ({ serverId, state: 'running' })),
      }));
    }
  }, 200);
  await waitFor('both nodes online', async () => {
    const rows: { state: string }[] = await h.ds.query(`SELECT state FROM nodes WHERE id = ANY($1::uuid[])`, [[nodeA, nodeB]]);
    return rows.every((r) => r.state === 'online') || undefined;
  });
});
after(async () => {
  clearInterval(beating);
  for (const f of fakes.values()) await f.stop();
  await nc?.close();
  await h?.close();
});

const orphansOf = async (nodeId: string, token = staff) => h.http('GET', `/api/v1/admin/nodes/${nodeId}/orphans`, { token });
const other = (nodeId: string) => (nodeId === nodeA ? nodeB : nodeA);

describe('orphans', () => {
  test('a domain of a server that lives on the other node is destroyed after the grace, audited as system, and staff see it', async () => {
    const a = await h.register('orphan-elsewhere');
    const b = await h.register('orphan-other-tenant');
    const id = await h.orderRunning(a.token, 'orph-1');
    const home = (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.nodeId as string;
    const stray = other(home);
    listed.set(home, () => [id]);
    // The other node comes back holding a domain of it (an old attempt of its create, say).
    const since = Date.now();
    listed.set(stray, () => [id]);
    await waitFor('the orphan to be recorded', async () => (await orphansOf(stray)).body.find((o: { serverId: string }) => o.serverId === id));
    assert.equal(fakes.get(stray)!.orphans.length, 0, 'not told before the grace is over');

    const told = await waitFor('the node to be told', () => fakes.get(stray)!.orphans.find((o) => o.serverId === id), { timeoutMs: 10_000, intervalMs: 50 });
    assert.ok(Date.now() - since >= GRACE_S * 1000, 'not before the grace');
    assert.equal(told.reason, 'elsewhere');
    assert.equal(told.serverNodeId, home);
    assert.equal(told.nodeId, stray);
    listed.set(stray, () => []); // the node destroyed it (the fake answered `destroyed`)

    const rec = await waitFor('the answer recorded', async () => {
      const o = (await orphansOf(stray)).body.find((x: { serverId: string }) => x.serverId === id);
      return o?.resolvedAt ? o : undefined;
    });
    assert.equal(rec.reason, 'elsewhere');
    assert.equal(rec.outcome, 'destroyed');
    assert.ok(rec.toldAt);
    const audit = await h.ds.query(`SELECT actor_kind, tenant_id, details FROM audit_log WHERE target_id = $1 AND action = 'server.orphan_destroyed'`, [id]);
    assert.equal(audit.length, 1, 'audited once');
    assert.equal(audit[0].actor_kind, 'system');
    assert.equal(audit[0].tenant_id, a.tenantId);
    assert.equal(audit[0].details.nodeId, stray);
    assert.equal(audit[0].details.serverNodeId, home);

    // the server itself is untouched where it lives, and its own node was never told anything
    const view = (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body;
    assert.equal(view.state, 'running');
    assert.equal(view.nodeId, home);
    assert.equal(fakes.get(home)!.orphans.filter((o) => o.serverId === id).length, 0);
    // only staff see a node's orphans; another tenant learns nothing of the server
    assert.ok([403, 404].includes((await orphansOf(stray, a.token)).status));
    assert.equal((await h.http('GET', `/api/v1/servers/${id}`, { token: b.token })).status, 404);
    assert.equal((await orphansOf(randomUUID())).status, 404);
    listed.set(home, () => []);
  });

  test('no alarm for a heartbeat taken before a delete finished; a deleted server whose domain stays is told as deleted', async () => {
    const a = await h.register('orphan-deleted');
    const id = await h.orderRunning(a.token, 'orph-2');
    const home = (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.nodeId as string;
    const before = Date.now();
    listed.set(home, () => [id]);
    // heartbeats taken before the delete finished, still listing the domain, keep arriving after it
    takenAt.set(home, () => before);
    const del = await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token });
    assert.equal(del.status, 202, JSON.stringify(del.body));
    await waitFor('deleted', async () => (await h.ds.query(`SELECT state FROM servers WHERE id = $1`, [id]))[0].state === 'deleted' || undefined);
    await new Promise((r) => setTimeout(r, GRACE_S * 3000));
    assert.equal(fakes.get(home)!.orphans.filter((o) => o.serverId === id).length, 0, 'no orphan command for a stale heartbeat');
    assert.equal((await orphansOf(home)).body.filter((o: { serverId: string }) => o.serverId === id).length, 0, 'not even recorded');

    // a heartbeat taken now still lists it: the node did not remove it after all
    takenAt.delete(home);
    const told = await waitFor('the node to be told', () => fakes.get(home)!.orphans.find((o) => o.serverId === id), { timeoutMs: 10_000, intervalMs: 50 });
    assert.equal(told.reason, 'deleted');
    listed.set(home, () => []);
    await waitFor('audited', async () => (await h.ds.query(`SELECT 1 FROM audit_log WHERE target_id = $1 AND action = 'server.orphan_destroyed' AND actor_kind = 'system'`, [id])).length === 1 || undefined);
  });

  test("a node's own server is never an orphan; a domain of an unknown server is recorded for staff and never destroyed", async () => {
    const a = await h.register('orphan-unknown');
    const id = await h.orderRunning(a.token, 'orph-3');
    const home = (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.nodeId as string;
    const unknown = randomUUID();
    listed.set(home, () => [id, unknown]);
    await new Promise((r) => setTimeout(r, GRACE_S * 3000));
    const rows = (await orphansOf(home)).body as { serverId: string; reason: string; toldAt: string | null }[];
    assert.equal(rows.filter((o) => o.serverId === id).length, 0, 'its own server is no orphan');
    const u = rows.find((o) => o.serverId === unknown);
    assert.ok(u, 'the unknown domain is recorded');
    assert.equal(u.reason, 'unknown');
    assert.equal(u.toldAt, null);
    assert.equal(fakes.get(home)!.orphans.filter((o) => o.serverId === unknown).length, 0, 'and never destroyed automatically');
    listed.set(home, () => []);
    await waitFor('forgotten once no longer listed', async () => !(await orphansOf(home)).body.some((o: { serverId: string }) => o.serverId === unknown) || undefined);
  });
});
