/**
 * Not part of the test run (no .test suffix): measures order -> running through the API with a
 * simulated node, to see the control plane's own latency. Run: node apps/api/dist/test/latency.probe.js [orders]
 */
import { waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { startHarness } from './support/harness.js';

const N = Number(process.argv[2] ?? 200);
const h = await startHarness({ seed: { node: { vcpus: 1000, memoryMiB: 1024 * 1024, diskGiB: 100000 } } });
const node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
const a = await h.register('bench');
const totals: number[] = [];
const stages: Record<string, number[]> = {};
const pending = new Map<string, number>();
const es = await fetch(`${h.url}/api/v1/servers/events`, { headers: { authorization: `Bearer ${a.token}` } });
const reader = es.body!.getReader();
const done = new Map<string, number>();
void (async () => {
  let buf = '';
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buf += new TextDecoder().decode(value);
    for (const m of buf.matchAll(/"serverId":"([0-9a-f-]{36})","state":"running"/g)) if (!done.has(m[1]!)) done.set(m[1]!, performance.now());
    buf = buf.slice(-300);
  }
})();
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const r = await h.http('POST', '/api/v1/servers', { token: a.token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: `b${i}` } });
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  (stages['POST round trip (client)'] ??= []).push(performance.now() - t0);
  pending.set(r.body.id, t0);
  await waitFor('running', () => done.has(r.body.id), { timeoutMs: 5000, intervalMs: 1 });
  totals.push(done.get(r.body.id)! - t0);
}
const rows = await h.ds.query(`SELECT timings FROM tasks WHERE op = 'create'`);
for (const { timings: t } of rows) {
  const add = (k: string, v: number) => (stages[k] ??= []).push(v);
  add('accepted->dispatched', t.dispatchedAt - t.acceptedAt);
  add('dispatched->daemonReceived', t.daemonReceivedAt - t.dispatchedAt);
  add('daemonFinished->resultSeen', t.resultSeenAt - t.daemonFinishedAt);
  add('accepted->resultSeen', t.resultSeenAt - t.acceptedAt);
}
const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!.toFixed(1);
console.log(`order -> running seen on SSE (client side), ${N} orders: p50 ${pct(totals, 50)} ms, p99 ${pct(totals, 99)} ms`);
for (const [k, xs] of Object.entries(stages)) console.log(`${k}: p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms`);
await reader.cancel().catch(() => undefined);
await node.stop();
await h.close();
