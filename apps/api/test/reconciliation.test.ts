import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjects, WIRE_VERSION, type NodeCommand } from '@oblako/contracts';
import { TEST_NATS_URL, waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { startHarness, type Harness } from './support/harness.js';

const GRACE_S = 1;
let h: Harness;
let node: FakeNode;
let nc: NatsConnection;
/** While set, creates are left unanswered (a create still in progress on the node). */
let holdCreates = false;
const held: NodeCommand[] = [];

before(async () => {
  h = await startHarness({ env: { RECONCILE_GRACE_SECONDS: String(GRACE_S), NODE_OFFLINE_AFTER_SECONDS: '2' } });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => {
    if (cmd.op === 'create' && holdCreates) {
      held.push(cmd);
      return null;
    }
    return { ok: true };
  });
  nc = await connect({ servers: TEST_NATS_URL });
});
after(async () => {
  await nc?.close();
  await node?.stop();
  await h?.close();
});

/** A heartbeat from the seed node listing these servers' domains as running, taken at `at`. */
async function heartbeat(serverIds: string[], at = Date.now()): Promise<void> {
  nc.publish(subjects(h.config.natsSubjectPrefix).nodeHeartbeat(h.seed.nodeId), JSON.stringify({
    v: WIRE_VERSION, nodeId: h.seed.nodeId, at, daemonVersion: 'test', hypervisor: 'test', capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 500 },
    domains: serverIds.map((serverId) => ({ serverId, state: 'running' })),
  }));
  await nc.flush();
}

/** Heartbeats every 200 ms for `ms`, each listing what `list()` gives at that moment. */
async function beatFor(ms: number, list: () => string[]): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await heartbeat(list());
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function order(token: string, hostname: string) {
  const r = await h.http('POST', '/api/v1/servers', { token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

const get = (token: string, id: string) => h.http('GET', `/api/v1/servers/${id}`, { token });

describe('reconciliation of heartbeats', () => {
  test('a domain gone behind the node\'s back turns the server error after the grace, with the reason, audited; rebuild brings it back', async () => {
    const a = await h.register('lost');
    const b = await h.register('lost-other');
    const kept = await order(a.token, 'kept-1');
    const lost = await order(a.token, 'lost-1');
    for (const id of [kept, lost]) await waitFor('running', async () => (await get(a.token, id)).body.state === 'running' || undefined);

    // The node lists both for longer than the grace: nothing happens.
    await beatFor(GRACE_S * 1000 + 600, () => [kept, lost]);
    assert.equal((await get(a.token, lost)).body.state, 'running');

    // The domain of `lost` disappears: not at once (one missed heartbeat is no proof), but after the grace.
    const goneAt = Date.now();
    await heartbeat([kept]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await get(a.token, lost)).body.state, 'running', 'no alarm before the grace is over');
    let view: { state: string; stateReason: string | null } | undefined;
    await waitFor('the lost server to turn error', async () => {
      await heartbeat([kept]);
      view = (await get(a.token, lost)).body;
      return view!.state === 'error' || undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    assert.ok(Date.now() - goneAt >= GRACE_S * 1000, 'not before the grace');
    assert.equal(view!.stateReason, 'the hypervisor lost this server');
    assert.equal((await get(a.token, kept)).body.state, 'running', 'the server whose domain is listed is untouched');
    const audit = await h.ds.query(`SELECT actor_kind, details FROM audit_log WHERE target_id = $1 AND action = 'server.lost'`, [lost]);
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor_kind, 'system');
    assert.equal(audit[0].details.from, 'running');
    // another tenant still learns nothing about it
    assert.equal((await get(b.token, lost)).status, 404);

    // The customer rebuilds it: it runs again and the reason is gone.
    const rebuild = await h.http('POST', `/api/v1/servers/${lost}/actions`, { token: a.token, body: { action: 'rebuild' } });
    assert.equal(rebuild.status, 202, JSON.stringify(rebuild.body));
    await waitFor('rebuilt', async () => (await get(a.token, lost)).body.state === 'running' || undefined);
    assert.equal((await get(a.token, lost)).body.stateReason, null);
    await beatFor(GRACE_S * 1000 + 600, () => [kept, lost]);
    assert.equal((await get(a.token, lost)).body.state, 'running');
  });

  test('no alarm for a create in progress, nor for one that finished after the heartbeat was taken', async () => {
    const a = await h.register('creating');
    holdCreates = true;
    const id = await order(a.token, 'slow-1');
    const cmd = await waitFor('the create to reach the node', () => held.find((c) => c.serverId === id));
    holdCreates = false;
    {
      // The node lists no domain for it for three times the grace while the create is under way.
      await beatFor(GRACE_S * 3000, () => []);
      assert.equal((await get(a.token, id)).body.state, 'provisioning');
      const before = Date.now();
      await node.answer(cmd, { ok: true });
      await waitFor('running', async () => (await get(a.token, id)).body.state === 'running' || undefined);
      // A heartbeat taken before the create finished (it could not list the domain) arrives late, more than once.
      await heartbeat([], before);
      await new Promise((r) => setTimeout(r, GRACE_S * 1000 + 300));
      await heartbeat([], before);
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal((await get(a.token, id)).body.state, 'running');
    const audit = await h.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1 AND action = 'server.lost'`, [id]);
    assert.equal(audit[0].n, 0);
  });

  test('a node that goes offline shows on its servers as unreachable, and no longer once it is back', async () => {
    const a = await h.register('offline');
    const id = await order(a.token, 'off-1');
    await waitFor('running', async () => (await get(a.token, id)).body.state === 'running' || undefined);
    assert.equal((await get(a.token, id)).body.nodeReachable, true);
    // no heartbeat for longer than NODE_OFFLINE_AFTER_SECONDS: the housekeeping marks the node offline
    await h.ds.query(`UPDATE nodes SET last_heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [h.seed.nodeId]);
    const off = await waitFor('the server to show its node unreachable', async () => {
      const v = (await get(a.token, id)).body;
      return v.nodeReachable === false ? v : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(off.state, 'running', 'the last known state is kept');
    const list = await h.http('GET', '/api/v1/servers', { token: a.token });
    assert.equal(list.body.items.find((s: { id: string }) => s.id === id).nodeReachable, false, 'the list shows it too');
    await heartbeat([id]);
    await waitFor('the node back', async () => (await get(a.token, id)).body.nodeReachable === true || undefined);
  });
});
