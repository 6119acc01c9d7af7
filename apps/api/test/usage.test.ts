import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WIRE_VERSION, type UsageSample } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { UsageIngestHandler } from '../src/usage/usage-ingest.handler.js';
import { UsageRetentionService } from '../src/usage/usage-retention.service.js';
import { TrafficQuotaService } from '../src/usage/traffic-quota.service.js';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
});
after(async () => {
  await node?.stop();
  await h?.close();
});


function sample(serverId: string, toMs: number, over: Partial<UsageSample> = {}): UsageSample {
  return {
    id: randomUUID(), serverId, from: toMs - 60_000, to: toMs, cpuNs: 30e9, diskReadBytes: 6_000_000, diskWriteBytes: 3_000_000,
    diskReadOps: 600, diskWriteOps: 300, netInBytes: 7_500_000, netOutBytes: 1_500_000, ...over,
  };
}

async function usage(token: string, id: string, range: string) {
  return h.http('GET', `/api/v1/servers/${id}/usage?range=${range}`, { token });
}

test('usage samples: counted once however often they arrive, rolled up, graphed per range, kept after deletion; other tenants get 404', async () => {
  const a = await h.register('usage');
  const b = await h.register('usage-other');
  const id = await h.orderRunning(a.token, 'metered-1');
  const now = Date.now();
  const samples = Array.from({ length: 10 }, (_, i) => sample(id, now - (9 - i) * 60_000));
  await node.publish(h.seed.nodeId, 'usage', { v: WIRE_VERSION, nodeId: h.seed.nodeId, at: now, samples: samples.slice(0, 6) });
  // the node sends again what it was not sure of (its buffer after an outage): samples 4 and 5 repeat
  await node.publish(h.seed.nodeId, 'usage', { v: WIRE_VERSION, nodeId: h.seed.nodeId, at: now, samples: samples.slice(4) });
  // a sample of a server that is not on the sending node counts nothing
  await node.publish(h.seed.nodeId, 'usage', { v: WIRE_VERSION, nodeId: h.seed.nodeId, at: now, samples: [sample(randomUUID(), now)] });

  const hour = await waitFor('all ten samples in the 1-hour graph', async () => {
    const r = await usage(a.token, id, '1h');
    return r.body.totals?.netInBytes === 10 * 7_500_000 ? r : undefined;
  }, { timeoutMs: 10_000, intervalMs: 50 });
  assert.equal(hour.status, 200);
  assert.equal(hour.body.totals.netOutBytes, 10 * 1_500_000);
  // one point per minute of the hour, oldest first, the minutes without samples as gaps (not as zero)
  assert.equal(hour.body.stepSeconds, 60);
  assert.equal(hour.body.points.length, 60);
  const metered = hour.body.points.filter((x: { seconds: number }) => x.seconds > 0);
  assert.equal(metered.length, 10);
  const gap = hour.body.points[0];
  assert.equal(gap.seconds, 0);
  assert.equal(gap.netInBps, null);
  assert.equal(gap.cpuPercent, null);
  const ts = hour.body.points.map((x: { t: string }) => Date.parse(x.t));
  assert.ok(ts.every((t: number, i: number) => i === 0 || t - ts[i - 1] === 60_000), 'a point every 60 s');
  assert.equal(Date.parse(hour.body.to) - Date.parse(hour.body.from), 3600_000);
  const p = metered[5];
  // 30 s of CPU in 60 s on a 1-vCPU plan = 50 %; 7.5 MB in 60 s = 1 Mbit/s
  const vcpus = (await h.ds.query(`SELECT vcpus FROM servers WHERE id = $1`, [id]))[0].vcpus as number;
  assert.equal(p.cpuPercent, Math.round((50 / vcpus) * 100) / 100);
  assert.equal(p.netInBps, 1_000_000);
  assert.equal(p.netOutBps, 200_000);
  assert.equal(p.diskReadBps, 100_000);
  assert.equal(p.diskWriteIops, 5);
  assert.equal(await h.count('usage_samples'), 10);

  for (const range of ['24h', '7d', '30d']) {
    const r = await usage(a.token, id, range);
    assert.equal(r.status, 200);
    assert.equal(r.body.totals.netInBytes, 10 * 7_500_000, `${range} rollups count each sample once`);
    const want = { '24h': [300, 288], '7d': [3600, 168], '30d': [3600, 720] }[range]!;
    assert.deepEqual([r.body.stepSeconds, r.body.points.length], want, `${range}: step and points`);
    const some = r.body.points.filter((x: { seconds: number }) => x.seconds > 0);
    assert.ok(some.length >= 1 && some.length <= 3, `${range}: the ten minutes fall in 1 to 3 steps, the rest are gaps`);
    assert.equal(some.reduce((a: number, x: { seconds: number }) => a + x.seconds, 0), 600);
    assert.equal(r.body.totals.diskWriteBytes, 10 * 3_000_000);
  }
  const daily = await h.ds.query(`SELECT sum(net_in_bytes)::bigint AS n, sum(samples)::int AS s FROM usage_rollups WHERE server_id = $1 AND level = '1d'`, [id]);
  assert.deepEqual(daily[0], { n: String(10 * 7_500_000), s: 10 });
  const ingest = h.api.app.get(UsageIngestHandler).counts;
  assert.equal(ingest.duplicates, 2);
  assert.equal(ingest.refused, 1);

  // isolation and validation
  assert.equal((await usage(b.token, id, '24h')).status, 404);
  const bad = await usage(a.token, id, '2d');
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /range must be one of 1h, 24h, 7d, 30d/);

  // staff: the node's graph sums its servers and counts them
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const nodeGraph = await h.http('GET', `/api/v1/admin/nodes/${h.seed.nodeId}/usage?range=1h`, { token: staff });
  assert.equal(nodeGraph.status, 200);
  assert.equal(nodeGraph.body.totals.netInBytes, 10 * 7_500_000);
  assert.equal(nodeGraph.body.points.length, 60);
  assert.equal(nodeGraph.body.points.filter((x: { servers: number }) => x.servers === 1).length, 10);
  assert.equal(nodeGraph.body.points[0].servers, 0);
  assert.equal(nodeGraph.body.points[0].netInBps, null);
  assert.equal((await h.http('GET', `/api/v1/admin/nodes/${h.seed.nodeId}/usage`, { token: a.token })).status, 403);

  // deleted: the usage stays (billing, history)
  const del = await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token });
  assert.equal(del.status, 202);
  await waitFor('deleted', async () => ((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state === 'deleted' ? true : undefined), { timeoutMs: 5000 });
  assert.equal((await usage(a.token, id, '30d')).body.totals.netInBytes, 10 * 7_500_000);
});

test('retention: raw samples and 5-minute rows go when old; hourly and daily rows stay', async () => {
  const a = await h.register('usage-retention');
  const id = await h.orderRunning(a.token, 'metered-old');
  const old = Date.now() - 3 * 86400_000;
  await node.publish(h.seed.nodeId, 'usage', { v: WIRE_VERSION, nodeId: h.seed.nodeId, at: Date.now(), samples: [sample(id, old)] });
  await waitFor('old sample stored', async () => Number((await h.ds.query(`SELECT count(*) FROM usage_samples WHERE server_id = $1`, [id]))[0].count) === 1 || undefined);
  const pruned = await h.api.app.get(UsageRetentionService).prune();
  assert.ok(pruned.raw >= 1);
  const left = await h.ds.query(`SELECT level FROM usage_rollups WHERE server_id = $1 ORDER BY level`, [id]);
  assert.equal(Number((await h.ds.query(`SELECT count(*) FROM usage_samples WHERE server_id = $1`, [id]))[0].count), 0);
  assert.deepEqual(left.map((r: { level: string }) => r.level), ['1d', '1h', '5m']);
  assert.equal((await usage(a.token, id, '7d')).body.totals.netInBytes, 7_500_000);
});

test('traffic quota: 80 % warns, 100 % throttles the node to the over-quota rate (once), staff adding traffic and a new period lift it', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const plan = await h.http('POST', '/api/v1/admin/plans', {
    token: staff,
    body: { name: 'Metered 1 GiB', vcpus: 1, memoryMiB: 512, diskGiB: 10, netMbit: 100, trafficGiB: 1, trafficDirection: 'out', overQuotaMbit: 7, priceMonthlyCents: 100 },
  });
  assert.equal(plan.status, 201, JSON.stringify(plan.body));
  assert.equal(plan.body.overQuotaMbit, 7);
  const badPlan = await h.http('POST', '/api/v1/admin/plans', { token: staff, body: { name: 'x', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceMonthlyCents: 1, trafficPeriod: 'weekly' } });
  assert.equal(badPlan.status, 400);
  assert.match(JSON.stringify(badPlan.body), /trafficPeriod must be one of calendar, anniversary/);

  const a = await h.register('quota');
  const created = await h.http('POST', '/api/v1/servers', { token: a.token, body: { planId: plan.body.id, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'quota-1' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id: string = created.body.id;
  await waitFor('running', async () => ((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state === 'running' ? true : undefined), { timeoutMs: 5000 });
  const GiB = 1024 ** 3;
  const send = (out: number, inb = 0) =>
    node.publish(h.seed.nodeId, 'usage', { v: WIRE_VERSION, nodeId: h.seed.nodeId, at: Date.now(), samples: [sample(id, Date.now(), { netOutBytes: Math.round(out), netInBytes: Math.round(inb) })] });
  const traffic = () => h.http('GET', `/api/v1/servers/${id}/traffic`, { token: a.token }).then((r) => r.body);
  const throttles = () => node.received.filter((c) => c.serverId === id && c.op === 'throttle') as unknown as { netMbit: number }[];
  const kinds = async () => (await h.ds.query(`SELECT kind FROM notifications WHERE tenant_id = $1 AND kind LIKE 'quota.%' ORDER BY created_at`, [a.tenantId])).map((r: { kind: string }) => r.kind);

  // 0.85 GiB out (and in-traffic, which this plan does not count): a warning, no throttle
  await send(0.85 * GiB, 5 * GiB);
  await waitFor('85 %', async () => ((await traffic()).percent === 85 ? true : undefined), { timeoutMs: 5000 });
  const t1 = await traffic();
  assert.equal(t1.allowanceBytes, GiB);
  assert.equal(t1.inBytes, 5 * GiB);
  assert.equal(t1.throttled, false);
  assert.equal(t1.direction, 'out');
  assert.ok(new Date(t1.resetsAt) > new Date(), 'resets in the future');
  assert.equal(new Date(t1.resetsAt).getUTCDate(), 1, 'calendar period: resets on the 1st');
  // The quota is evaluated right after the ingest commits, so the notice follows the counted traffic by a moment.
  await waitFor('the 80 % notice', async () => ((await kinds()).length >= 1 ? true : undefined), { timeoutMs: 5000 });
  assert.deepEqual(await kinds(), ['quota.warning']);
  assert.equal(throttles().length, 0);

  // over 100 %: told once, and the node gets one throttle to 7 Mbit/s
  await send(0.2 * GiB);
  await waitFor('throttled', async () => ((await traffic()).throttled ? true : undefined), { timeoutMs: 5000 });
  assert.deepEqual(throttles().map((c) => c.netMbit), [7]);
  await send(0.1 * GiB);
  await waitFor('counted', async () => ((await traffic()).usedBytes >= 1.15 * GiB - 1 ? true : undefined), { timeoutMs: 5000 });
  await waitFor('the 100 % notice', async () => ((await kinds()).length >= 2 ? true : undefined), { timeoutMs: 5000 });
  assert.deepEqual(await kinds(), ['quota.warning', 'quota.reached']);
  assert.equal(throttles().length, 1, 'a throttled server is not throttled again');
  const server = (await h.ds.query(`SELECT throttle_mbit, throttle_applied_mbit FROM servers WHERE id = $1`, [id]))[0];
  assert.deepEqual(server, { throttle_mbit: 7, throttle_applied_mbit: 7 });

  // only staff add traffic, with a reason; it lifts the throttle to the plan's rate, audited
  assert.equal((await h.http('POST', `/api/v1/admin/servers/${id}/traffic`, { token: a.token, body: { addGiB: 1, reason: 'gift' } })).status, 403);
  const noReason = await h.http('POST', `/api/v1/admin/servers/${id}/traffic`, { token: staff, body: { addGiB: 0 } });
  assert.equal(noReason.status, 400);
  assert.match(JSON.stringify(noReason.body), /addGiB must be at least 1/);
  const added = await h.http('POST', `/api/v1/admin/servers/${id}/traffic`, { token: staff, body: { addGiB: 1, reason: 'customer bought a block' } });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.equal(added.body.allowanceBytes, 2 * GiB);
  await waitFor('lifted', async () => ((await traffic()).throttled === false ? true : undefined), { timeoutMs: 5000 });
  assert.deepEqual(throttles().map((c) => c.netMbit), [7, 100]);
  const audit = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'server.traffic_added'`, [id]);
  assert.equal(audit.length, 1);
  assert.equal(audit[0].details.reason, 'customer bought a block');

  // over again, then the period ends (its row moves into the past, as the clock would): the sweep lifts it
  await send(1 * GiB);
  await waitFor('throttled again', async () => ((await traffic()).throttled ? true : undefined), { timeoutMs: 5000 });
  await h.ds.query(`UPDATE server_traffic SET period_start = period_start - interval '1 month' WHERE server_id = $1`, [id]);
  await h.api.app.get(TrafficQuotaService).sweep();
  await waitFor('lifted at the reset', async () => ((await traffic()).throttled === false ? true : undefined), { timeoutMs: 5000 });
  assert.deepEqual(throttles().map((c) => c.netMbit), [7, 100, 7, 100]);
  assert.equal((await traffic()).usedBytes, 0);
  // other tenants: 404
  const b = await h.register('quota-other');
  assert.equal((await h.http('GET', `/api/v1/servers/${id}/traffic`, { token: b.token })).status, 404);
});
