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
 * A daemon restarted before its node is marked offline (issue 9): the daemon is SIGKILLed while it holds a create
 * (it reported its first step and waits on libvirt) and a new daemon process is started at once. The node never
 * turns offline, so nothing places the create elsewhere; before, the command sat unacknowledged on the node's
 * consumer until JetStream's 60 s ack wait ran out. Now the new process's first heartbeat carries a new instance id,
 * the API publishes the node's unacknowledged commands again and deletes the old copies, and the create finishes on
 * the same node, as the same attempt, in seconds. The test prints the time.
 *
 * To catch the daemon mid-create deterministically, the node's libvirtd (the test driver, in a process of its own so
 * its domains outlive the daemon) is frozen while the order goes in, as in dead-node.test.
 */
const OFFLINE_S = 30;
const ACK_WAIT_S = 60;

let e: E2E;
let host: LibvirtTestHost;
let watch: HeartbeatWatch;
let nodeId: string;
let daemon: ManagedProcess;
let db: pg.Pool;
let customer: ApiClient;
let order: (hostname: string) => Record<string, string>;
const timings: string[] = [];

before(async () => {
  host = await startLibvirtTestHost('restart');
  e = await startE2E({
    libvirtUri: host.uri,
    apiEnv: { NODE_OFFLINE_AFTER_SECONDS: String(OFFLINE_S), OUTBOX_POLL_MS: '200' },
    seed: { node: { vcpus: 64, memoryMiB: 128 * 1024, diskGiB: 10_000 }, ipv4Cidr: '198.18.5.0/24', ipv4Gateway: '198.18.5.1' },
  });
  nodeId = e.stack.seed.nodeId;
  daemon = e.stack.daemon!;
  watch = await HeartbeatWatch.start(e.stack.natsUrl, e.stack.subjectPrefix);
  db = new pg.Pool({ connectionString: e.stack.databaseUrl, max: 2 });
  customer = await newCustomer(e.stack, 'restart');
  order = await catalogue(customer);
});
after(async () => {
  if (host?.libvirtdPid) signalIfAlive(host.libvirtdPid, 'SIGCONT');
  console.log(timings.join('\n'));
  await watch?.close();
  await db?.end();
  await e?.close();
  await host?.stop();
});



async function nodeRow(): Promise<{ state: string; daemon_instance: string | null }> {
  return (await db.query<{ state: string; daemon_instance: string | null }>('SELECT state, daemon_instance FROM nodes WHERE id = $1', [nodeId])).rows[0]!;
}

describe('a daemon restarted within the offline threshold gets its commands at once, not after the ack wait', () => {
  test('SIGKILL mid-create, a new daemon at once: the create finishes on the same node as the same attempt in seconds', async () => {
    const firstInstance = (await waitFor('the first daemon instance recorded', async () => (await nodeRow()).daemon_instance ?? undefined, { timeoutMs: 30_000, intervalMs: 100 }));
    signalIfAlive(host.libvirtdPid, 'SIGSTOP');
    let server: ServerView;
    let killedAt: number;
    try {
      server = await customer.ok<ServerView>('POST', '/api/v1/servers', order('restart-1'));
      await waitFor('the daemon to start the create', async () => {
        const s = await customer.ok<ServerView>('GET', `/api/v1/servers/${server.id}`);
        return s.currentTask?.stage === 'lookup' && s.currentTask.attempts === 1 ? s : undefined;
      }, { timeoutMs: 30_000, intervalMs: 50 });
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      killedAt = Date.now();
    } finally {
      signalIfAlive(host.libvirtdPid, 'SIGCONT');
    }
    daemon = await e.stack.startDaemon(nodeId, { LIBVIRT_URI: host.uri }, `daemon-restart-${Date.now() % 100000}`);
    const startedAt = Date.now();
    const running = await waitFor(`server ${server.id} running`, async () => {
      const s = await customer.ok<ServerView>('GET', `/api/v1/servers/${server.id}`);
      if (s.state === 'error') throw new Error(`the create ended in error: ${s.currentTask?.error ?? s.stateReason}`);
      return s.state === 'running' && s.currentTask?.state === 'succeeded' ? s : undefined;
    }, { timeoutMs: 120_000, intervalMs: 100 });
    const seconds = (Date.now() - killedAt) / 1000;
    timings.push(`daemon restart: running ${seconds.toFixed(1)} s after the SIGKILL (${((Date.now() - startedAt) / 1000).toFixed(1)} s after the new daemon was up; ack wait ${ACK_WAIT_S} s, offline threshold ${OFFLINE_S} s)`);
    assert.ok(seconds < 20, `the create finished ${seconds.toFixed(1)} s after the kill; the ack wait alone is ${ACK_WAIT_S} s`);

    // the same node, the same attempt: nothing was placed again, the node was never offline
    assert.equal(running.nodeId, nodeId);
    assert.equal(running.currentTask!.attempts, 1, 'the create ran as attempt 1');
    const row = await nodeRow();
    assert.equal(row.state, 'online');
    assert.ok(row.daemon_instance && row.daemon_instance !== firstInstance, 'the node records the new daemon instance');
    const offline = await e.admin.ok<unknown[]>('GET', `/api/v1/admin/audit?targetId=${running.id}&action=task.retry`);
    assert.equal(offline.length, 0, 'no retry, no move');

    // one domain on the node; nothing of the command is left for anyone to run again
    assert.equal(domainsOn(host).filter((d) => d.includes(server.id)).length, 1, 'the node holds one domain of the server');
    const s = subjects(e.stack.subjectPrefix);
    const nc = await connect({ servers: natsServerList(e.stack.natsUrl) });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor('the node consumer empty', async () => {
        const c = await jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeId));
        return c.num_ack_pending === 0 && c.num_pending === 0 ? c : undefined;
      }, { timeoutMs: 10_000, intervalMs: 100 });
    } finally {
      await nc.close();
    }
    const ids = (await db.query<{ id: string }>(`SELECT id FROM servers`)).rows.map((r) => r.id);
    const counts = await fleetCounts(e.stack.databaseUrl, await watch.domainsAfter([nodeId], Date.now()), ids);
    assert.deepEqual(counts.domainMismatches, [], 'every server has exactly one domain, on its node');
    assert.deepEqual(counts.capacityMismatches, []);
    assert.equal(counts.openTasks, 0);

    // and the next command goes through the new process as usual
    await customer.ok('POST', `/api/v1/servers/${server.id}/actions`, { action: 'stop' });
    await waitForState(customer, server.id, 'stopped', 30_000);
  });
});
