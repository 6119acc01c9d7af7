/**
 * The node page's heartbeat history (issue 15): the API keeps each node's last 60 heartbeats (time on the node,
 * time received, domain count, load, daemon version), newest first, in a bounded ring; staff only; an unknown node
 * is 404 and a heartbeat of a node nobody registered is not kept.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NODE_HEARTBEAT_HISTORY, subjects, WIRE_VERSION } from '@oblako/contracts';
import { TEST_NATS_URL, waitFor } from '@oblako/testing';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let nc: NatsConnection;
let admin: string;

before(async () => {
  h = await startHarness();
  nc = await connect({ servers: TEST_NATS_URL });
  admin = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await nc?.close();
  await h?.close();
});

function beat(nodeId: string, n: number, at = Date.now()): void {
  const domains = Array.from({ length: n % 4 }, () => ({ serverId: randomUUID(), state: 'running' }));
  nc.publish(subjects(h.config.natsSubjectPrefix).nodeHeartbeat(nodeId), JSON.stringify({
    v: WIRE_VERSION, nodeId, at, daemonVersion: `test-${n}`, hypervisor: 'test', capacity: { vcpus: 8, memoryMiB: 8192, diskGiB: 100 }, domains, load1: n / 10,
  }));
}

test('the last 60 heartbeats of a node, newest first, with time, domains, load and version', async () => {
  const nodeId = h.seed.nodeId;
  const total = NODE_HEARTBEAT_HISTORY + 5;
  for (let i = 1; i <= total; i++) {
    beat(nodeId, i);
    await nc.flush();
    // heartbeats are handled one after another; give each its turn so the order is the order sent
    await waitFor(`heartbeat ${i} kept`, async () => ((await h.ds.query(`SELECT 1 FROM node_heartbeats WHERE node_id = $1 AND daemon_version = $2`, [nodeId, `test-${i}`])) as unknown[]).length > 0 || undefined, { timeoutMs: 10_000, intervalMs: 5 });
  }
  const r = await h.http('GET', `/api/v1/admin/nodes/${nodeId}/heartbeats`, { token: admin });
  assert.equal(r.status, 200);
  const list = r.body as { at: string; receivedAt: string; domains: number; load1: number | null; daemonVersion: string }[];
  assert.equal(list.length, NODE_HEARTBEAT_HISTORY);
  assert.equal(list[0]!.daemonVersion, `test-${total}`, 'newest first');
  assert.equal(list.at(-1)!.daemonVersion, `test-${total - NODE_HEARTBEAT_HISTORY + 1}`, 'the oldest kept');
  assert.equal(list[0]!.domains, total % 4);
  assert.equal(list[0]!.load1, total / 10);
  assert.ok(Date.parse(list[0]!.receivedAt) >= Date.parse(list[1]!.receivedAt));
  const [{ n }] = await h.ds.query(`SELECT count(*)::int AS n FROM node_heartbeats WHERE node_id = $1`, [nodeId]);
  assert.equal(n, NODE_HEARTBEAT_HISTORY, 'the table holds no more than the ring');
});

test('a node clock ahead of ours is clamped; unknown nodes are 404 and their heartbeats are not kept; customers are refused', async () => {
  const ghost = randomUUID();
  beat(ghost, 1);
  beat(h.seed.nodeId, 2, Date.now() + 3_600_000);
  await nc.flush();
  await waitFor('the clamped heartbeat kept', async () => {
    const [top] = (await h.http('GET', `/api/v1/admin/nodes/${h.seed.nodeId}/heartbeats`, { token: admin })).body as { at: string; daemonVersion: string }[];
    return top?.daemonVersion === 'test-2' ? top : undefined;
  }, { timeoutMs: 10_000 });
  const [top] = (await h.http('GET', `/api/v1/admin/nodes/${h.seed.nodeId}/heartbeats`, { token: admin })).body as { at: string }[];
  assert.ok(Date.parse(top!.at) <= Date.now(), 'never in the future');
  assert.equal((await h.http('GET', `/api/v1/admin/nodes/${ghost}/heartbeats`, { token: admin })).status, 404);
  assert.equal(((await h.ds.query(`SELECT 1 FROM node_heartbeats WHERE node_id = $1`, [ghost])) as unknown[]).length, 0);
  assert.equal((await h.http('GET', `/api/v1/admin/nodes/not-a-uuid/heartbeats`, { token: admin })).status, 400);
  const c = await h.register('hb-customer');
  assert.equal((await h.http('GET', `/api/v1/admin/nodes/${h.seed.nodeId}/heartbeats`, { token: c.token })).status, 403);
});
