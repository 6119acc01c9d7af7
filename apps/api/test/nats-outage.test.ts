import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { startHarness, type Harness } from './support/harness.js';
import { PrivateNats } from './support/nats-server.js';

let nats: PrivateNats;
let h: Harness;
let node: FakeNode;

before(async () => {
  nats = await PrivateNats.start();
  h = await startHarness({ env: { NATS_URL: nats.url } });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, () => ({ ok: true }), nats.url);
});
after(async () => {
  await node?.stop().catch(() => undefined);
  await h?.close();
  await nats?.stop();
});

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

test('with NATS down the API keeps answering (reads, orders, /health says only NATS is down); the queued commands go out when it is back', async () => {
  const a = await h.register('outage');
  const order = (hostname: string) =>
    h.http('POST', '/api/v1/servers', { token: a.token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
  const first = await order('before-outage');
  assert.equal(first.status, 201);
  await waitFor('the first server to run', async () => (await h.http('GET', `/api/v1/servers/${first.body.id}`, { token: a.token })).body.state === 'running' || undefined);

  await nats.kill();
  const outageStart = performance.now();
  const health = await h.http('GET', '/health');
  assert.equal(health.status, 200, 'the database is up: a load balancer keeps this replica');
  assert.deepEqual({ status: health.body.status, database: health.body.database, nats: health.body.nats }, { status: 'degraded', database: 'up', nats: 'down' });

  // 20 orders, 5 at a time, while NATS is down
  const orders: { ms: number; id: string }[] = [];
  for (let batch = 0; batch < 4; batch++) {
    const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => timed(() => order(`during-outage-${batch}-${i}`))));
    for (const r of rs) {
      assert.equal(r.value.status, 201, JSON.stringify(r.value.body));
      orders.push({ ms: r.ms, id: r.value.body.id });
    }
  }
  // keep reading for 6 s of outage while the relay's publishes time out in the background
  const reads: number[] = [];
  let longestOpenTx = 0;
  while (performance.now() - outageStart < 6000) {
    const r = await timed(() => h.http('GET', '/api/v1/servers', { token: a.token }));
    assert.equal(r.value.status, 200);
    reads.push(r.ms);
    // the API's connections: none sits in an open transaction while a publish waits on NATS
    const [tx] = await h.ds.query(
      `SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8 AS s FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'`,
    );
    longestOpenTx = Math.max(longestOpenTx, tx.s);
    await new Promise((res) => setTimeout(res, 100));
  }
  const healthLater = await timed(() => h.http('GET', '/health'));
  const maxRead = Math.max(...reads);
  const maxOrder = Math.max(...orders.map((o) => o.ms));
  console.log(`# NATS down 6 s: ${reads.length} list reads, max ${maxRead.toFixed(0)} ms; ${orders.length} orders, max ${maxOrder.toFixed(0)} ms; /health ${healthLater.ms.toFixed(0)} ms`);
  console.log(`# longest transaction left open meanwhile: ${(longestOpenTx * 1000).toFixed(0)} ms`);
  assert.ok(longestOpenTx < 1, `no transaction is held open across a publish (longest ${(longestOpenTx * 1000).toFixed(0)} ms)`);
  assert.ok(maxRead < 1000, `reads stay fast (max ${maxRead.toFixed(0)} ms)`);
  assert.ok(maxOrder < 1000, `orders stay fast (max ${maxOrder.toFixed(0)} ms)`);
  assert.equal(healthLater.value.body.database, 'up');

  await nats.up();
  // right after it is back, orders are as fast as before
  const after = await timed(() => order('after-outage'));
  assert.equal(after.value.status, 201);
  console.log(`# first order after NATS is back: ${after.ms.toFixed(0)} ms`);
  assert.ok(after.ms < 1000, `an order right after the outage (${after.ms.toFixed(0)} ms)`);
  orders.push({ ms: after.ms, id: after.value.body.id });
  for (const o of orders) {
    await waitFor(`server ${o.id} to run after the outage`, async () => (await h.http('GET', `/api/v1/servers/${o.id}`, { token: a.token })).body.state === 'running' || undefined, { timeoutMs: 30_000, intervalMs: 200 });
  }
  const healthy = await h.http('GET', '/health');
  assert.deepEqual([healthy.status, healthy.body.status], [200, 'ok']);
  const [{ n }] = await h.ds.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
  assert.equal(n, 0, 'every queued command was published');
});
