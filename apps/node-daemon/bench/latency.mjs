// Publish → task.result latency of `create` through real NATS and the daemon on test:///default.
// node apps/node-daemon/bench/latency.mjs [count=200] [concurrency=1]   (after `nx build node-daemon`)
import { Harness, spec, command } from '../dist/src/test/harness.js';
import { silentLogger } from '../dist/src/log.js';

const count = Number(process.argv[2] ?? 200);
const concurrency = Number(process.argv[3] ?? 1);
const h = await Harness.start({ logLevel: 'error' }, { logger: silentLogger }, { eventStream: true });
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const total = [], daemon = [], hyper = [], pickup = [];
const one = async () => {
  const sp = spec();
  const c = command(h.nodeId, 'create', sp.serverId, { spec: sp });
  const t0 = performance.timeOrigin + performance.now();
  await h.publish(c);
  const r = await h.result(c.taskId);
  total.push(performance.timeOrigin + performance.now() - t0);
  const t = r.timings;
  daemon.push(t.finishedAt - t.receivedAt);
  hyper.push(t.hypervisorDoneAt - t.hypervisorStartedAt);
  pickup.push(t.receivedAt - t0);
};
for (let i = 0; i < 10; i++) await one();
total.length = daemon.length = hyper.length = pickup.length = 0;
let left = count;
await Promise.all(Array.from({ length: concurrency }, async () => { while (left-- > 0) await one(); }));
const row = (n, xs) => console.log(`${n.padEnd(34)} p50 ${pct(xs, 50).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms`);
console.log(`${count} creates, concurrency ${concurrency}`);
row('publish → result seen', total);
row('publish → daemon received', pickup);
row('daemon received → finished', daemon);
row('hypervisor (lookup..start)', hyper);
await h.stop();
