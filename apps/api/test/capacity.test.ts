import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  // Room for exactly 20 "Small" servers (1 vCPU, 1 GiB RAM, 20 GiB disk), with no overcommit.
  h = await startHarness({ seed: { node: { vcpus: 20, memoryMiB: 20 * 1024, diskGiB: 20 * 20, cpuOvercommit: 1, memoryOvercommit: 1 } } });
});
after(async () => {
  await h?.close();
});

test('50 concurrent orders against room for 20: exactly 20 placed, 30 refused "no capacity", no address twice', async () => {
  const tenants = await Promise.all([h.register('cap-a'), h.register('cap-b')]);
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      h.http('POST', '/api/v1/servers', {
        token: tenants[i % 2]!.token,
        body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: `s${i}` },
      }),
    ),
  );
  const placed = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status !== 201);
  assert.equal(placed.length, 20, `placed ${placed.length}`);
  assert.equal(refused.length, 30);
  for (const r of refused) {
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.code, 'no_capacity');
    assert.match(r.body.message, /^No capacity/);
  }
  const addresses = placed.map((r) => r.body.addresses[0].address as string);
  assert.equal(new Set(addresses).size, 20, 'every placed server has its own address');

  // The database agrees: counters, rows, and nothing left behind by the refused orders.
  const [node] = await h.ds.query('SELECT used_vcpus, used_memory_mib, used_disk_gib FROM nodes WHERE id = $1', [h.seed.nodeId]);
  assert.deepEqual(node, { used_vcpus: 20, used_memory_mib: 20 * 1024, used_disk_gib: 400 });
  assert.equal(await h.count('servers'), 20);
  assert.equal(await h.count('tasks'), 20);
  assert.equal(await h.count('outbox'), 20);
  const [ips] = await h.ds.query('SELECT count(*)::int AS n, count(DISTINCT address)::int AS d FROM ip_addresses WHERE server_id IS NOT NULL');
  assert.deepEqual(ips, { n: 20, d: 20 });

  // Every command reached JetStream with the task id as its message id (the relay marks rows published).
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (await h.ds.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).length) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await h.ds.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).length, 0);
  const dispatched = await h.ds.query(`SELECT count(*)::int AS n FROM tasks WHERE state = 'dispatched' AND timings ? 'dispatchedAt'`);
  assert.equal(dispatched[0].n, 20);
});
