import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsServerList, subjects, type ServerView } from '@oblako/contracts';
import type { ApiClient, ManagedProcess } from '@oblako/devstack';
import { waitFor } from '@oblako/testing';
import { newCustomer, startE2E, waitForState, type E2E } from './support.js';
import { catalogue, domainsOn, fleetCounts, HeartbeatWatch, signalIfAlive, startLibvirtTestHost, type LibvirtTestHost } from './fleet-support.js';

/**
 * The dead node (issue 9): a create is in the hands of node A's daemon (it reported its first step, and its libvirt
 * call is still open) when the daemon dies. Two ways: frozen with SIGSTOP past the offline threshold and then
 * thawed (a partition that heals), and SIGKILLed and replaced by a new daemon process. The create must run on
 * node B as attempt 2, with its reservation and its address moved (counters and addresses checked in the
 * database), and node A, once back, must destroy the domain the stale attempt left in its libvirt (its domain
 * list read with virsh, the audit entry read by staff through the API).
 *
 * Each node's libvirt is the test driver in a libvirtd of its own, so A's domains outlive its daemon as a real
 * hypervisor's guests would. To catch the daemon mid-create deterministically, A's libvirtd is frozen while the
 * order goes in: the daemon reports "lookup" and then waits on libvirt; it dies there; libvirtd is thawed.
 * Node A is registered with more room than B, so spread placement puts attempt 1 on A.
 * Where the orphan comes from: the frozen daemon, once thawed, finishes attempt 1's create (its late result is
 * ignored), so A holds a domain of a server that lives on B and is told to destroy it after RECONCILE_GRACE_SECONDS.
 * After a SIGKILL there is none: attempt 1's command, still unacknowledged on A's consumer, is taken back from the
 * command stream when the create is placed on B, so the new daemon never gets it (before, JetStream handed it over
 * when the consumer's 60 s ack wait ran out, the daemon built it, and the orphan went about 55 s after the restart).
 */
const OFFLINE_S = 5;
const GRACE_S = 2;

let e: E2E;
let hosts: LibvirtTestHost[] = [];
let watch: HeartbeatWatch;
let nodeA: string;
let nodeB: string;
let daemonA: ManagedProcess;
let libvirtdA: number;
let db: pg.Pool;
let customer: ApiClient;
let order: (hostname: string) => Record<string, string>;
const timings: string[] = [];

before(async () => {
  hosts = [await startLibvirtTestHost('dead-a'), await startLibvirtTestHost('dead-b')];
  e = await startE2E({
    libvirtUri: hosts[0]!.uri,
    apiEnv: { NODE_OFFLINE_AFTER_SECONDS: String(OFFLINE_S), RECONCILE_GRACE_SECONDS: String(GRACE_S), OUTBOX_POLL_MS: '200' },
    seed: { node: { vcpus: 512, memoryMiB: 1024 * 1024, diskGiB: 100_000 }, ipv4Cidr: '198.18.4.0/24', ipv4Gateway: '198.18.4.1' },
  });
  nodeA = e.stack.seed.nodeId;
  const [location] = await e.admin.ok<{ id: string }[]>('GET', '/api/v1/locations');
  // half of A's room: spread placement prefers A while both are online
  const reg = await e.admin.ok<{ node: { id: string } }>('POST', '/api/v1/admin/nodes', {
    name: 'hv-dead-b', locationId: location!.id, vcpus: 256, memoryMiB: 512 * 1024, diskGiB: 50_000,
  });
  nodeB = reg.node.id;
  daemonA = e.stack.daemon!;
  await e.stack.startDaemon(nodeB, { LIBVIRT_URI: hosts[1]!.uri }, 'daemon-b');
  libvirtdA = hosts[0]!.libvirtdPid;
  watch = await HeartbeatWatch.start(e.stack.natsUrl, e.stack.subjectPrefix);
  db = new pg.Pool({ connectionString: e.stack.databaseUrl, max: 2 });
  customer = await newCustomer(e.stack, 'deadnode');
  order = await catalogue(customer);
});
after(async () => {
  if (libvirtdA) signalIfAlive(libvirtdA, 'SIGCONT');
  if (daemonA && daemonA.child.exitCode === null) daemonA.child.kill('SIGCONT');
  console.log(timings.join('\n'));
  await watch?.close();
  await db?.end();
  await e?.close();
  for (const h of hosts) await h.stop();
});



async function usedVcpus(nodeId: string): Promise<number> {
  const r = await db.query<{ used_vcpus: number }>('SELECT used_vcpus FROM nodes WHERE id = $1', [nodeId]);
  return r.rows[0]!.used_vcpus;
}

async function nodeState(nodeId: string): Promise<string> {
  return (await db.query<{ state: string }>('SELECT state FROM nodes WHERE id = $1', [nodeId])).rows[0]!.state;
}

/**
 * Order a server while A's libvirtd is frozen; wait until A's daemon has the create and reported its first step
 * (it now waits on libvirt), then `kill` the daemon (freeze or SIGKILL it) and thaw libvirtd.
 */
async function orderIntoDyingDaemon(label: string, kill: () => Promise<void>): Promise<{ server: ServerView; t0: number }> {
  signalIfAlive(libvirtdA, 'SIGSTOP');
  let server: ServerView;
  try {
    server = await customer.ok<ServerView>('POST', '/api/v1/servers', order(label));
    assert.equal(server.nodeId, nodeA, 'attempt 1 is placed on A (more room)');
    await waitFor('A\'s daemon to start the create', async () => {
      const s = await customer.ok<ServerView>('GET', `/api/v1/servers/${server.id}`);
      return s.currentTask?.stage === 'lookup' && s.currentTask.attempts === 1 ? s : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    await kill();
  } finally {
    signalIfAlive(libvirtdA, 'SIGCONT');
  }
  return { server, t0: Date.now() };
}

/** What the customer and the database see once the create moved: running on B at attempt 2, room and address moved. */
async function assertMovedToB(server: ServerView, t0: number, usedBefore: { a: number; b: number }, variant: string): Promise<ServerView> {
  const moved = await waitFor(`server ${server.id} running on B`, async () => {
    const s = await customer.ok<ServerView>('GET', `/api/v1/servers/${server.id}`);
    if (s.state === 'error') throw new Error(`the create ended in error: ${s.currentTask?.error ?? s.stateReason}`);
    return s.state === 'running' && s.nodeId === nodeB && s.currentTask?.state === 'succeeded' ? s : undefined;
  }, { timeoutMs: 90_000, intervalMs: 100 });
  timings.push(`dead-node ${variant}: running on the other node after ${((Date.now() - t0) / 1000).toFixed(1)} s (offline threshold ${OFFLINE_S} s)`);
  assert.equal(moved.currentTask!.op, 'create');
  assert.equal(moved.currentTask!.attempts, 2, 'the create ran as attempt 2');
  assert.deepEqual(moved.addresses, server.addresses, 'the address stays with the server');
  const task = (await db.query<{ node_id: string; attempts: number }>(`SELECT node_id, attempts FROM tasks WHERE id = $1`, [moved.currentTask!.id])).rows[0]!;
  assert.equal(task.node_id, nodeB);
  assert.ok(domainsOn(hosts[1]!).some((d) => d.includes(server.id)), 'B\'s libvirt holds the domain');
  // the reservation moved: A is back where it was, B carries the plan
  assert.equal(await usedVcpus(nodeA), usedBefore.a, 'A\'s reservation was given back');
  assert.equal(await usedVcpus(nodeB), usedBefore.b + server.plan.vcpus, 'B carries the server');
  const retry = await e.admin.ok<{ action: string; details: { reason?: string } }[]>('GET', `/api/v1/admin/audit?targetId=${server.id}&action=task.retry`);
  assert.equal(retry.length, 1, 'the move is audited once');
  return moved;
}

/** A is back: the stale attempt's domain appears in its libvirt at most briefly and is destroyed, audited as the system. */
async function assertOrphanDestroyed(server: ServerView, backAt: number, variant: string): Promise<void> {
  const gone = await waitFor(`the orphan of ${server.id} to be destroyed on A`, async () => {
    const [entry] = await e.admin.ok<{ actorKind: string; details: Record<string, unknown> }[]>(
      'GET', `/api/v1/admin/audit?targetId=${server.id}&action=server.orphan_destroyed`,
    );
    return entry && !domainsOn(hosts[0]!).some((d) => d.includes(server.id)) ? entry : undefined;
  }, { timeoutMs: 150_000, intervalMs: 200 });
  timings.push(`dead-node ${variant}: orphan gone ${((Date.now() - backAt) / 1000).toFixed(1)} s after A came back`);
  assert.equal(gone.actorKind, 'system');
  assert.equal(gone.details.nodeId, nodeA);
  assert.equal(gone.details.serverNodeId, nodeB);
  const orphans = await e.admin.ok<{ serverId: string; outcome: string | null }[]>('GET', `/api/v1/admin/nodes/${nodeA}/orphans`);
  assert.equal(orphans.find((o) => o.serverId === server.id)?.outcome, 'destroyed');
  // the server itself was never touched: still running on B, B still holds its domain
  const s = await waitForState(customer, server.id, 'running');
  assert.equal(s.nodeId, nodeB);
  assert.ok(domainsOn(hosts[1]!).some((d) => d.includes(server.id)));
  // every server: one domain on its node, true counters, no address twice
  const ids = (await db.query<{ id: string }>(`SELECT id FROM servers`)).rows.map((r) => r.id);
  const counts = await fleetCounts(e.stack.databaseUrl, await watch.domainsAfter([nodeA, nodeB], Date.now()), ids);
  assert.equal(counts.duplicateAddresses, 0, 'no address is given to two servers');
  assert.deepEqual(counts.capacityMismatches, [], 'capacity counters equal the live servers');
  assert.deepEqual(counts.domainMismatches, [], 'every server has exactly one domain, on its node');
  assert.deepEqual(counts.strayDomains, []);
  assert.equal(counts.openTasks, 0);
}

describe('the dead node: a create whose daemon dies runs on the other node, and the node that comes back removes its orphan', () => {
  test('partition: SIGSTOP past the offline threshold, then SIGCONT', async () => {
    const before = { a: await usedVcpus(nodeA), b: await usedVcpus(nodeB) };
    const { server, t0 } = await orderIntoDyingDaemon('dead-stop', async () => {
      daemonA.child.kill('SIGSTOP');
    });
    await waitFor('A to turn offline', async () => ((await nodeState(nodeA)) === 'offline' ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    const moved = await assertMovedToB(server, t0, before, 'partition');
    // a new order while A is still frozen goes to B and gets another address
    const other = await customer.ok<ServerView>('POST', '/api/v1/servers', order('dead-stop-2'));
    assert.equal(other.nodeId, nodeB, 'an offline node gets no new server');
    assert.notDeepEqual(other.addresses.map((a) => a.address), moved.addresses.map((a) => a.address));
    await waitForState(customer, other.id, 'running', 60_000);

    daemonA.child.kill('SIGCONT');
    const backAt = Date.now();
    await waitFor('A online again', async () => ((await nodeState(nodeA)) === 'online' ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    await assertOrphanDestroyed(server, backAt, 'partition');
    // the thawed daemon's late result of attempt 1 changed nothing
    const s = await customer.ok<ServerView>('GET', `/api/v1/servers/${server.id}`);
    assert.equal(s.nodeId, nodeB);
    assert.equal(s.currentTask!.attempts, 2);
  });

  test('kill: SIGKILL, then a new daemon process that never runs the moved create', async () => {
    const before = { a: await usedVcpus(nodeA), b: await usedVcpus(nodeB) };
    const { server, t0 } = await orderIntoDyingDaemon('dead-kill', async () => {
      daemonA.child.kill('SIGKILL');
      await daemonA.exited;
    });
    const moved = await assertMovedToB(server, t0, before, 'kill');
    // the API took attempt 1's command back from A's consumer when it placed the create on B
    const s = subjects(e.stack.subjectPrefix);
    const nc = await connect({ servers: natsServerList(e.stack.natsUrl) });
    try {
      const jsm = await jetstreamManager(nc);
      const left = async () => {
        const out: number[] = [];
        for (let seq = 1; ; ) {
          const m = await jsm.streams.getMessage(s.commandStream, { next_by_subj: s.nodeCommand(nodeA, 'create'), seq } as unknown as { seq: number });
          if (!m) return out;
          if ((m.json() as { taskId?: string }).taskId === moved.currentTask!.id) out.push(m.seq);
          seq = m.seq + 1;
        }
      };
      await waitFor('attempt 1 taken back from A', async () => ((await left()).length === 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
      const consumer = await jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeA));
      assert.equal(consumer.num_ack_pending, 0, 'nothing of the dead daemon waits for its ack wait');
      assert.equal(consumer.num_pending, 0, 'nothing waits for A');
    } finally {
      await nc.close();
    }
    const backAt = Date.now();
    daemonA = await e.stack.startDaemon(nodeA, { LIBVIRT_URI: hosts[0]!.uri }, `daemon-a-${Date.now() % 100000}`);
    timings.push(`dead-node kill: a new daemon on A sent its first heartbeat ${((Date.now() - backAt) / 1000).toFixed(1)} s after it was started`);
    // A never builds the moved create: two heartbeats of the new daemon, its libvirt, the orphans list
    await watch.domainsAfter([nodeA], Date.now());
    const hb = await watch.domainsAfter([nodeA], Date.now());
    assert.ok(!hb.get(nodeA)!.some((d) => d.serverId === server.id), 'A reports no domain of the moved server');
    assert.ok(!domainsOn(hosts[0]!).some((d) => d.includes(server.id)), 'A\'s libvirt holds no domain of it');
    const orphans = await e.admin.ok<{ serverId: string }[]>('GET', `/api/v1/admin/nodes/${nodeA}/orphans`);
    assert.ok(!orphans.some((o) => o.serverId === server.id), 'no orphan to clean up');
    timings.push(`dead-node kill: A clean ${((Date.now() - backAt) / 1000).toFixed(1)} s after its new daemon started (two heartbeats; nothing was built, nothing to destroy)`);
    const stillB = await waitForState(customer, server.id, 'running');
    assert.equal(stillB.nodeId, nodeB);
    const ids = (await db.query<{ id: string }>(`SELECT id FROM servers`)).rows.map((r) => r.id);
    const counts = await fleetCounts(e.stack.databaseUrl, await watch.domainsAfter([nodeA, nodeB], Date.now()), ids);
    assert.equal(counts.duplicateAddresses, 0);
    assert.deepEqual(counts.capacityMismatches, []);
    assert.deepEqual(counts.domainMismatches, []);
    assert.deepEqual(counts.strayDomains, []);
    assert.equal(counts.openTasks, 0);
  });
});
