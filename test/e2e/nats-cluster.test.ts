import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { subjects, type ServerView } from '@oblako/contracts';
import pg from 'pg';
import { startNatsCluster, type NatsCluster } from '@oblako/testing';
import { newCustomer, startE2E, type E2E } from './support.js';
import { catalogue, fleetCounts, HeartbeatWatch, registerNode, waitSettled } from './fleet-support.js';

/**
 * The shape a provider grows into: a three-server NATS cluster with both streams at three replicas.
 * The API and two node daemons (each its own libvirt test driver) get NATS_URL as the list of the
 * three servers. In the middle of a burst of orders and actions the server leading the command
 * stream is killed for good; nothing may be lost.
 */
let cluster: NatsCluster;
let e: E2E;
let watch: HeartbeatWatch;
let nodeB: string;
const ORDERS = 24;
const STOPS = 8;

before(async () => {
  cluster = await startNatsCluster({ size: 3 });
  e = await startE2E({
    natsUrl: cluster.url,
    natsStreamReplicas: 3,
    seed: { adminEmail: 'admin@e2e.test', adminPassword: 'cluster-admin-password-1', node: { vcpus: 512, memoryMiB: 1024 * 1024, diskGiB: 100_000 }, ipv4Cidr: '198.18.0.0/22', ipv4Gateway: '198.18.0.1' },
  });
  const [location] = await e.admin.ok<{ id: string }[]>('GET', '/api/v1/locations');
  nodeB = await registerNode(e.admin, location!.id, 'hv-cluster-b');
  await e.stack.startDaemon(nodeB, {}, 'daemon-b');
  watch = await HeartbeatWatch.start(cluster.url, e.stack.subjectPrefix);
});
after(async () => {
  await watch?.close();
  await e?.close();
  await cluster?.stop();
});

describe('a three-server NATS cluster, streams at three replicas', () => {
  test('orders and stops survive losing the command stream leader for good', async () => {
    const s = subjects(e.stack.subjectPrefix);
    const nc = await connect({ servers: cluster.servers.map((x) => x.url) });
    const cmd = await jetstreamManager(nc);
    const info = await cmd.streams.info(s.commandStream);
    assert.equal(info.config.num_replicas, 3, 'the command stream has three replicas');
    assert.equal((await cmd.streams.info(s.eventStream)).config.num_replicas, 3, 'the event stream has three replicas');
    assert.equal(info.cluster?.replicas?.length, 2, 'two followers besides the leader');
    await nc.close();

    const c = await newCustomer(e.stack, 'clusterco');
    const order = await catalogue(c);
    const t0 = Date.now();
    const ids: string[] = [];
    const leader = await cluster.streamLeader(s.commandStream);
    assert.ok(leader, 'the command stream has a leader');
    let killed = '';
    for (let i = 0; i < ORDERS; i++) {
      if (i === ORDERS / 2) {
        killed = leader;
        await cluster.servers.find((x) => x.name === leader)!.kill();
      }
      ids.push((await c.ok<ServerView>('POST', '/api/v1/servers', order(`cl-${i}`))).id);
    }
    // stop a third of them once they run (the first ones, ordered before the kill, and after)
    const stopped = ids.filter((_, i) => i % 3 === 0).slice(0, STOPS);
    await waitSettled(c, stopped, 120_000);
    for (const id of stopped) {
      const r = await c.call('POST', `/api/v1/servers/${id}/actions`, { action: 'stop' });
      assert.equal(r.status, 202, `stop ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const views = await waitSettled(c, ids, 120_000);
    const elapsed = (Date.now() - t0) / 1000;
    const newLeader = await cluster.streamLeader(s.commandStream);

    console.log(`nats-cluster: slowest tasks ${JSON.stringify(await slowestTasks(e.stack.databaseUrl, ids))}`);
    const counts = await fleetCounts(e.stack.databaseUrl, await watch.domainsAfter([e.stack.seed.nodeId, nodeB], Date.now()), ids);
    const running = views.filter((v) => v.state === 'running').length;
    const stoppedNow = views.filter((v) => v.state === 'stopped').length;
    const perNode = new Map<string, number>();
    for (const v of views) perNode.set(v.nodeId ?? 'none', (perNode.get(v.nodeId ?? 'none') ?? 0) + 1);
    console.log(
      `nats-cluster: ${running}/${ORDERS - STOPS} running, ${stoppedNow}/${STOPS} stopped, ${counts.openTasks} open tasks, ` +
        `${counts.duplicateAddresses} duplicate addresses, ${counts.domainMismatches.length} domain mismatches, ${counts.capacityMismatches.length} capacity mismatches, ` +
        `servers per node ${JSON.stringify([...perNode.values()])}, leader ${killed} killed for good, new leader ${newLeader}, ${elapsed.toFixed(1)} s`,
    );
    assert.equal(running, ORDERS - STOPS, JSON.stringify(counts.byState));
    assert.equal(stoppedNow, STOPS);
    assert.equal(counts.openTasks, 0);
    assert.equal(counts.duplicateAddresses, 0);
    assert.deepEqual(counts.domainMismatches, []);
    assert.deepEqual(counts.strayDomains, []);
    assert.deepEqual(counts.capacityMismatches, []);
    assert.ok(newLeader && newLeader !== killed, `a surviving server leads the command stream (was ${killed}, now ${newLeader})`);
  });
});

/** Where the slowest tasks of the run spent their time (s): outbox -> daemon, in the daemon, daemon -> API. */
async function slowestTasks(databaseUrl: string, serverIds: string[]): Promise<Record<string, unknown>[]> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<Record<string, unknown>>(
      `SELECT op, attempts, round(extract(epoch FROM finished_at - created_at)::numeric, 1) AS total,
              round((((timings->>'daemonReceivedAt')::float8 - (timings->>'dispatchedAt')::float8) / 1000)::numeric, 1) AS to_daemon,
              round((((timings->>'daemonFinishedAt')::float8 - (timings->>'daemonReceivedAt')::float8) / 1000)::numeric, 1) AS in_daemon,
              round((((timings->>'resultSeenAt')::float8 - (timings->>'daemonFinishedAt')::float8) / 1000)::numeric, 1) AS to_api
         FROM tasks WHERE server_id = ANY($1::uuid[]) ORDER BY finished_at - created_at DESC NULLS FIRST LIMIT 4`,
      [serverIds],
    );
    return rows;
  } finally {
    await pool.end();
  }
}
