/**
 * Not part of the test run: open-loop orders (like the lead's bench) against a simulated node,
 * then reports any server that did not reach running and its task. node apps/api/dist/test/openloop.probe.js [orders] [rate]
 */
import { FakeNode } from './support/fake-node.js';
import { startHarness } from './support/harness.js';

const N = Number(process.argv[2] ?? 200);
const RATE = Number(process.argv[3] ?? 20);
const h = await startHarness({ seed: { node: { vcpus: 1000, memoryMiB: 1024 * 1024, diskGiB: 100000 } } });
const node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
const a = await h.register('open');
const ids: string[] = [];
const start = performance.now();
const inflight: Promise<void>[] = [];
for (let i = 0; i < N; i++) {
  const wait = start + (i * 1000) / RATE - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  inflight.push(
    (async () => {
      const r = await h.http('POST', '/api/v1/servers', { token: a.token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: `o${i}` } });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      ids.push(r.body.id);
    })(),
  );
}
await Promise.all(inflight);
await new Promise((r) => setTimeout(r, 3000));
const rows = await h.ds.query(
  `SELECT s.id, s.state, t.state AS task_state, t.timings, o.published_at IS NOT NULL AS published FROM servers s JOIN tasks t ON t.server_id = s.id LEFT JOIN outbox o ON o.task_id = t.id WHERE s.state <> 'running'`,
);
console.log(`${N} orders at ${RATE}/s; not running after 3 s: ${rows.length}; commands the node saw: ${node.received.length}`);
for (const r of rows.slice(0, 5)) console.log(JSON.stringify(r));
await node.stop();
await h.close();
