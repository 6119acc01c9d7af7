/**
 * Traffic quotas on a plan WITHOUT a base rate limit (netMbit 0): at 100 % the node gets the over-quota rate, and
 * lifting means "no limit at all" (netMbit 0 on the wire) — which must still reach the node. Also: a lift wanted
 * while the throttle command is still on its way (the node has not answered yet) follows as soon as the node
 * answers, and the refusal in between is visible (a warning and an audit entry with the reason); and a period reset
 * by the (injectable) clock lifts it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WIRE_VERSION, type NodeCommand } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { BillingClock } from '../src/billing/billing.clock.js';
import { TrafficQuotaService } from '../src/usage/traffic-quota.service.js';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

const GiB = 1024 ** 3;
let h: Harness;
let node: FakeNode;
/** Throttle commands the fake node holds (no answer) while `hold` is set; answered by the test. */
let hold = false;
const held: NodeCommand[] = [];

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => {
    if (hold && cmd.op === 'throttle') {
      held.push(cmd);
      return null;
    }
    return { ok: true };
  });
});
after(async () => {
  await node?.stop();
  await h?.close();
});

test('a plan with no base rate limit: throttled at 100 %, and the lift (no limit, netMbit 0) reaches the node after staff add traffic, after a lift that waited for the throttle in flight, and at the period reset', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const plan = await h.http('POST', '/api/v1/admin/plans', {
    token: staff,
    body: { name: 'Unlimited rate, 1 GiB', vcpus: 1, memoryMiB: 512, diskGiB: 10, netMbit: 0, trafficGiB: 1, trafficDirection: 'both', overQuotaMbit: 5, priceMonthlyCents: 100 },
  });
  assert.equal(plan.status, 201, JSON.stringify(plan.body));
  assert.equal(plan.body.netMbit, 0);
  const a = await h.register('quota-norate');
  const id = await h.orderRunning(a.token, 'norate-1', plan.body.id);
  const send = (bytes: number) =>
    node.publish(h.seed.nodeId, 'usage', {
      v: WIRE_VERSION, nodeId: h.seed.nodeId, at: Date.now(),
      samples: [{ id: randomUUID(), serverId: id, from: Date.now() - 2000, to: Date.now(), cpuNs: 0, diskReadBytes: 0, diskWriteBytes: 0, diskReadOps: 0, diskWriteOps: 0, netInBytes: Math.round(bytes / 2), netOutBytes: Math.round(bytes / 2) }],
    });
  const traffic = () => h.http('GET', `/api/v1/servers/${id}/traffic`, { token: a.token }).then((r) => r.body);
  const rates = () => node.received.filter((c) => c.serverId === id && c.op === 'throttle').map((c) => (c as unknown as { netMbit: number }).netMbit);
  const row = async () => (await h.ds.query(`SELECT throttle_mbit, throttle_sent_mbit, throttle_applied_mbit FROM servers WHERE id = $1`, [id]))[0];
  const addTraffic = async (reason: string) => {
    const r = await h.http('POST', `/api/v1/admin/servers/${id}/traffic`, { token: staff, body: { addGiB: 1, reason } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  // 1. over 100 %: the node gets the over-quota rate
  await send(1.1 * GiB);
  await waitFor('throttled', async () => ((await traffic()).throttled ? true : undefined), { timeoutMs: 10_000 });
  assert.deepEqual(rates(), [5]);
  assert.deepEqual(await row(), { throttle_mbit: 5, throttle_sent_mbit: 5, throttle_applied_mbit: 5 });

  // 2. staff add 1 GiB: under again; the lift is "no limit" (0), and it reaches the node
  const added = await addTraffic('customer bought a block');
  assert.equal(added.allowanceBytes, 2 * GiB);
  await waitFor('lifted after staff added traffic', async () => ((await traffic()).throttled === false ? true : undefined), { timeoutMs: 10_000 });
  assert.deepEqual(rates(), [5, 0], 'the lift went to the node as netMbit 0 (no limit)');
  assert.deepEqual(await row(), { throttle_mbit: 0, throttle_sent_mbit: 0, throttle_applied_mbit: 0 });

  // 3. over again, the node slow to answer: staff add traffic while the throttle is still in flight
  hold = true;
  await send(1 * GiB);
  await waitFor('the throttle command at the node', async () => (held.length === 1 ? true : undefined), { timeoutMs: 10_000 });
  await addTraffic('added while the throttle was on its way');
  // the lift cannot start while the throttle task runs: said so (audit entry with the reason), not dropped
  const deferred = await waitFor('the deferred lift in the audit log', async () => {
    const rows = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'server.throttle_deferred' ORDER BY created_at`, [id]);
    return rows.length ? rows : undefined;
  }, { timeoutMs: 10_000 });
  assert.equal(deferred[0].details.netMbit, 0);
  assert.match(deferred[0].details.reason, /wait for the current task/);
  hold = false;
  await node.answer(held[0]!, { ok: true });
  // the node confirms the (now stale) throttle, and the lift follows on its own — well before the 60 s sweep
  await waitFor('lifted once the throttle in flight ended', async () => {
    const r = await row();
    return rates().length === 4 && r.throttle_applied_mbit === 0 && r.throttle_mbit === 0 ? true : undefined;
  }, { timeoutMs: 15_000 });
  assert.deepEqual(rates(), [5, 0, 5, 0]);
  assert.equal((await traffic()).throttled, false);

  // 4. over again; the clock reaches the next period: the sweep lifts it and the new period counts from zero
  await send(1.1 * GiB);
  await waitFor('throttled again', async () => ((await traffic()).throttled ? true : undefined), { timeoutMs: 10_000 });
  assert.deepEqual(rates(), [5, 0, 5, 0, 5]);
  const before = await traffic();
  const clock = h.api.app.get(BillingClock);
  const toReset = new Date(before.resetsAt).getTime() - clock.now().getTime() + 3600_000;
  clock.advance(toReset);
  try {
    await h.api.app.get(TrafficQuotaService).sweep();
    await waitFor('lifted at the period reset', async () => ((await traffic()).throttled === false ? true : undefined), { timeoutMs: 10_000 });
    const t = await traffic();
    assert.deepEqual(rates(), [5, 0, 5, 0, 5, 0]);
    assert.equal(t.usedBytes, 0, 'the new period starts at zero');
    assert.equal(t.periodStart, before.resetsAt, 'the new period begins where the old one said it would reset');
    assert.equal(t.allowanceBytes, GiB, 'traffic staff added belonged to the old period');
  } finally {
    clock.advance(-toReset);
  }
});

test('a lift wanted while the server is stopped is said (audited) and reaches the node as soon as the server has started again', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const plan = await h.http('POST', '/api/v1/admin/plans', {
    token: staff,
    body: { name: 'Unlimited rate, 1 GiB (stop)', vcpus: 1, memoryMiB: 512, diskGiB: 10, netMbit: 0, trafficGiB: 1, overQuotaMbit: 3, priceMonthlyCents: 100 },
  });
  assert.equal(plan.status, 201, JSON.stringify(plan.body));
  const a = await h.register('quota-stopped');
  const id = await h.orderRunning(a.token, 'norate-2', plan.body.id);
  const rates = () => node.received.filter((c) => c.serverId === id && c.op === 'throttle').map((c) => (c as unknown as { netMbit: number }).netMbit);
  const traffic = () => h.http('GET', `/api/v1/servers/${id}/traffic`, { token: a.token }).then((r) => r.body);
  await node.publish(h.seed.nodeId, 'usage', {
    v: WIRE_VERSION, nodeId: h.seed.nodeId, at: Date.now(),
    samples: [{ id: randomUUID(), serverId: id, from: Date.now() - 2000, to: Date.now(), cpuNs: 0, diskReadBytes: 0, diskWriteBytes: 0, diskReadOps: 0, diskWriteOps: 0, netInBytes: 0, netOutBytes: Math.round(1.1 * GiB) }],
  });
  await waitFor('throttled', async () => ((await traffic()).throttled ? true : undefined), { timeoutMs: 10_000 });
  assert.deepEqual(rates(), [3]);

  const stop = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } });
  assert.equal(stop.status, 202, JSON.stringify(stop.body));
  await h.waitIdle(a.token, id, 'stopped');
  const added = await h.http('POST', `/api/v1/admin/servers/${id}/traffic`, { token: staff, body: { addGiB: 1, reason: 'while stopped' } });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  const deferred = await waitFor('the deferred lift in the audit log', async () => {
    const rows = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'server.throttle_deferred'`, [id]);
    return rows.length ? rows : undefined;
  }, { timeoutMs: 10_000 });
  assert.equal(deferred.length, 1);
  assert.match(deferred[0].details.reason, /stopped/);
  assert.equal(deferred[0].details.netMbit, 0);
  // stopped: the node's record still holds 3 Mbit/s (a start applies it), so the API still says throttled
  assert.equal((await traffic()).throttled, true);
  assert.deepEqual(rates(), [3]);

  const start = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'start' } });
  assert.equal(start.status, 202, JSON.stringify(start.body));
  await waitFor('lifted right after the start', async () => (rates().length === 2 && (await traffic()).throttled === false ? true : undefined), { timeoutMs: 10_000 });
  assert.deepEqual(rates(), [3, 0]);
  // said once, not at every look
  await h.api.app.get(TrafficQuotaService).sweep();
  assert.equal((await h.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1 AND action = 'server.throttle_deferred'`, [id]))[0].n, 1);
});
