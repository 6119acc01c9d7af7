import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WIRE_VERSION, type UsageSample } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { UsageIngestHandler } from '../src/usage/usage-ingest.handler.js';
import { UsageRetentionService } from '../src/usage/usage-retention.service.js';
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

async function runningServer(token: string, hostname: string): Promise<string> {
  const created = await h.http('POST', '/api/v1/servers', { token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await waitFor('running', async () => ((await h.http('GET', `/api/v1/servers/${created.body.id}`, { token })).body.state === 'running' ? true : undefined), { timeoutMs: 5000 });
  return created.body.id;
}

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
  const id = await runningServer(a.token, 'metered-1');
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
  assert.equal(hour.body.points.length, 10);
  const p = hour.body.points[5];
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
  assert.equal(nodeGraph.body.points[0].servers, 1);
  assert.equal((await h.http('GET', `/api/v1/admin/nodes/${h.seed.nodeId}/usage`, { token: a.token })).status, 403);

  // deleted: the usage stays (billing, history)
  const del = await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token });
  assert.equal(del.status, 202);
  await waitFor('deleted', async () => ((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state === 'deleted' ? true : undefined), { timeoutMs: 5000 });
  assert.equal((await usage(a.token, id, '30d')).body.totals.netInBytes, 10 * 7_500_000);
});

test('retention: raw samples and 5-minute rows go when old; hourly and daily rows stay', async () => {
  const a = await h.register('usage-retention');
  const id = await runningServer(a.token, 'metered-old');
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
