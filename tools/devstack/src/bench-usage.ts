/**
 * Usage benchmark (issue 11, "Measure"): ingest for BENCH_SERVERS (20,000) simulated servers at one sample a
 * minute each, against one API process on the real PostgreSQL and NATS, with the API's CPU (/proc/<pid>/stat) and
 * PostgreSQL's write rate (pg_stat_database of the benchmark's database, pg_stat_wal of the cluster) over the same
 * window. Then the 30-day graph of one server through the API (HTTP, the customer's token) with 30 days of hourly
 * rollups present, against the same SQL straight on PostgreSQL.
 *
 *   npm run bench:usage                              20,000 servers on 200 nodes, 3 minutes at the real rate
 *   BENCH_MINUTES=5 BENCH_SPEEDUP=4 npm run bench:usage    4 rounds a minute (compressed time: 4x the real rate)
 *
 * The simulated nodes publish what a node daemon publishes: one `usage` event per node and round (its servers'
 * samples, at most 500 an event, the way the daemon's sampler batches them) to `<prefix>.node.<id>.evt.usage`
 * through JetStream with a `Nats-Msg-Id`, each node at its own offset within the minute (daemons are not in step).
 * BENCH_SPEEDUP > 1 runs that many rounds a minute: the API's CPU per sample, and so its share of a core at the
 * real rate, comes out of the same run. The servers are written straight into the database (as bench:fleet does).
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EventKind, subjects, USAGE_SAMPLES_PER_EVENT, WIRE_VERSION, type UsageSample } from '@oblako/contracts';
import { TEST_NATS_URL, waitFor } from '@oblako/testing';
import { ApiClient } from './http.js';
import { REPO_ROOT } from './stack.js';
import { startBenchStack } from './bench-stack.js';
import { cpuSeconds, intEnv, now, registerNodes, summary, writeHourlyRollups, writeServers } from './bench-stats.js';

interface PgWrites {
  commits: number;
  inserted: number;
  updated: number;
  walBytes: number;
  walRecords: number;
}

async function pgWrites(pool: pg.Pool): Promise<PgWrites> {
  const d = (await pool.query<{ c: string; i: string; u: string }>(
    `SELECT xact_commit::text AS c, tup_inserted::text AS i, tup_updated::text AS u FROM pg_stat_database WHERE datname = current_database()`,
  )).rows[0]!;
  const w = (await pool.query<{ b: string; r: string }>(`SELECT wal_bytes::text AS b, wal_records::text AS r FROM pg_stat_wal`)).rows[0]!;
  return { commits: Number(d.c), inserted: Number(d.i), updated: Number(d.u), walBytes: Number(w.b), walRecords: Number(w.r) };
}

function sample(serverId: string, to: number, intervalMs: number): UsageSample {
  const r = (n: number) => Math.floor(Math.random() * n);
  return {
    id: randomUUID(), serverId, from: to - intervalMs, to, cpuNs: r(60e9), diskReadBytes: r(50e6), diskWriteBytes: r(20e6), diskReadOps: r(5000),
    diskWriteOps: r(2000), netInBytes: r(100e6), netOutBytes: r(400e6), memoryBytes: 256 * 1024 * 1024 + r(1e8),
  };
}

async function main(): Promise<void> {
  const SERVERS = intEnv('BENCH_SERVERS', 20_000);
  const NODES = intEnv('BENCH_NODES', 200);
  const MINUTES = intEnv('BENCH_MINUTES', 3);
  const SPEEDUP = intEnv('BENCH_SPEEDUP', 1);
  const ROLLUP_SERVERS = Math.min(intEnv('BENCH_ROLLUP_SERVERS', 1000), SERVERS);
  const QUERIES = intEnv('BENCH_QUERIES', 300);
  const roundMs = 60_000 / SPEEDUP;
  console.log(
    `Oblako usage benchmark: ${SERVERS} servers on ${NODES} simulated nodes, one sample a minute each` +
      `${SPEEDUP > 1 ? ` in compressed time (${SPEEDUP} rounds a minute = ${SPEEDUP}x the real rate)` : ''}, ${MINUTES} min; ` +
      `then the 30-day graph with ${ROLLUP_SERVERS} servers' 30 days of hourly rollups`,
  );

  const { stack, pool, admin, locationId, prefix, close } = await startBenchStack('usage');
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    let t = now();
    const nodeIds = await registerNodes(admin, locationId, NODES, 'meter');
    // the customer whose server's graph is read at the end owns every server
    const customer = new ApiClient(stack.apiUrl);
    await customer.register('usage@bench.test', 'bench-password-123', 'Usage bench');
    const tenantId = (await pool.query<{ tenant_id: string }>(
      `SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'usage@bench.test'`,
    )).rows[0]!.tenant_id;
    const byNode = await writeServers(pool, { count: SERVERS, nodeIds, tenants: [tenantId, tenantId], firstCount: SERVERS, locationId });
    console.log(`registered ${NODES} nodes and wrote ${SERVERS} servers in ${((now() - t) / 1000).toFixed(1)} s`);

    // --- ingest: every node publishes its round at its own offset within each round
    const js = jetstream(nc);
    const s = subjects(prefix);
    const apiPid = stack.api.child.pid!;
    await new Promise((r) => setTimeout(r, 3000));
    const idle0 = cpuSeconds(apiPid);
    await new Promise((r) => setTimeout(r, 10_000));
    const idleCore = (cpuSeconds(apiPid) - idle0) / 10;

    const rounds = MINUTES * SPEEDUP;
    const offsets = nodeIds.map(() => Math.random() * roundMs);
    let published = 0;
    let events = 0;
    const publishMs: number[] = [];
    const cpu0 = cpuSeconds(apiPid);
    const pg0 = await pgWrites(pool);
    const start = now();
    const plan: { at: number; node: string }[] = [];
    for (let r = 0; r < rounds; r++) for (let i = 0; i < nodeIds.length; i++) plan.push({ at: start + r * roundMs + offsets[i]!, node: nodeIds[i]! });
    plan.sort((a, b) => a.at - b.at);
    const inflight = new Set<Promise<void>>();
    for (const p of plan) {
      const wait = p.at - now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      const servers = byNode.get(p.node) ?? [];
      // the sample covers the real minute it stands for (compressed time: the stamps advance a minute a round)
      const to = Math.round(start + (p.at - start) * SPEEDUP);
      const samples = servers.map((id) => sample(id, to, 60_000));
      for (let k = 0; k < samples.length; k += USAGE_SAMPLES_PER_EVENT) {
        const batch = samples.slice(k, k + USAGE_SAMPLES_PER_EVENT);
        const t0 = now();
        const pub = js
          .publish(s.nodeEvent(p.node, EventKind.Usage), JSON.stringify({ v: WIRE_VERSION, nodeId: p.node, at: to, samples: batch }), { msgID: `usage:${batch[0]!.id}:${batch.length}`, timeout: 10_000 })
          .then(() => void publishMs.push(now() - t0));
        inflight.add(pub);
        void pub.finally(() => inflight.delete(pub));
        published += batch.length;
        events++;
      }
    }
    await Promise.all(inflight);
    const publishedAt = now();
    const stored = async () => Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM usage_samples`)).rows[0]!.n);
    await waitFor(`all ${published} samples stored`, async () => ((await stored()) >= published ? true : undefined), { timeoutMs: 600_000, intervalMs: 250 });
    const caughtUpMs = now() - publishedAt;
    const windowS = (now() - start) / 1000;
    const apiCore = (cpuSeconds(apiPid) - cpu0) / windowS;
    const pg1 = await pgWrites(pool);
    const rollups = Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM usage_rollups`)).rows[0]!.n);
    const traffic = Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM server_traffic`)).rows[0]!.n);
    const perSec = (k: keyof PgWrites) => (pg1[k] - pg0[k]) / windowS;
    const realRate = SERVERS / 60;
    const cpuPerThousand = ((apiCore - idleCore) * windowS * 1000) / published;
    const atRealRate = idleCore + (cpuPerThousand * realRate) / 1000;
    const pubs = summary(publishMs);

    console.log(`\ningest: ${published} samples in ${events} events over ${windowS.toFixed(1)} s (${(published / windowS).toFixed(0)} samples/s; the real rate is ${realRate.toFixed(0)}/s)`);
    console.log(`  all stored ${(caughtUpMs / 1000).toFixed(1)} s after the last publish; ${rollups} rollup rows, ${traffic} traffic rows; JetStream publish ack p50 ${pubs.p50.toFixed(1)} ms p99 ${pubs.p99.toFixed(1)} ms`);
    console.log(`  API CPU: ${(apiCore * 100).toFixed(1)} % of one core during the ingest, ${(idleCore * 100).toFixed(1)} % idle before it; ${(cpuPerThousand * 1000).toFixed(1)} ms of CPU per 1,000 samples`);
    console.log(`  API at the real rate (${SERVERS} servers, one sample a minute): ${(atRealRate * 100).toFixed(1)} % of one core (target < 25 %: ${atRealRate < 0.25 ? 'met' : 'MISSED'})`);
    console.log(
      `  PostgreSQL writes: ${perSec('commits').toFixed(1)} commits/s, ${perSec('inserted').toFixed(0)} rows inserted/s, ${perSec('updated').toFixed(0)} rows updated/s (this database); ` +
        `WAL ${(perSec('walBytes') / 1024).toFixed(0)} KiB/s, ${perSec('walRecords').toFixed(0)} records/s (whole cluster: other databases on the machine count too)`,
    );

    // --- the 30-day graph: 30 days of hourly rollups for ROLLUP_SERVERS servers (the read one among them), written
    // an hour at a time for all servers, the order the ingest writes them in (one server's rows on many pages)
    t = now();
    const all = [...byNode.values()].flat();
    const target = all[0]!;
    await writeHourlyRollups(pool, all.slice(0, ROLLUP_SERVERS), 30 * 24);
    // "before": the same rows in a copy of the table as it was before migration UsageGraphIndex (a plain primary key)
    // read with the query of then (grouped, through the heap); "after" is the real table and the API's query
    await pool.query(`CREATE TABLE bench_rollups_before (LIKE usage_rollups INCLUDING DEFAULTS, PRIMARY KEY (server_id, level, bucket))`);
    await pool.query(`INSERT INTO bench_rollups_before SELECT * FROM usage_rollups WHERE level = '1h' ORDER BY bucket, server_id`);
    await pool.query(`VACUUM ANALYZE usage_rollups`);
    await pool.query(`VACUUM ANALYZE bench_rollups_before`);
    const hourly = Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM usage_rollups WHERE level = '1h'`)).rows[0]!.n);
    console.log(`\n30-day graph: ${hourly} hourly rollup rows present (written in ${((now() - t) / 1000).toFixed(1)} s)`);
    const usageMod = (await import(pathToFileURL(join(REPO_ROOT, 'apps/api/dist/src/usage/usage.service.js')).href)) as {
      serverGraphSql(level: '1h'): string;
      usageGrid(range: '30d', nowMs: number): { from: Date };
    };
    const graphSql = usageMod.serverGraphSql('1h');
    const beforeSql = `SELECT bucket + interval '3600 seconds' AS t, 3600 AS bucket_seconds, sum(seconds)::float8 AS seconds, sum(cpu_ns)::text AS cpu_ns,
        sum(disk_read_bytes)::text AS disk_read_bytes, sum(disk_write_bytes)::text AS disk_write_bytes, sum(disk_read_ops)::text AS disk_read_ops,
        sum(disk_write_ops)::text AS disk_write_ops, sum(net_in_bytes)::text AS net_in_bytes, sum(net_out_bytes)::text AS net_out_bytes,
        count(DISTINCT server_id)::int AS servers, max(memory_bytes_max)::text AS memory_bytes
      FROM bench_rollups_before WHERE server_id = $1 AND level = '1h' AND bucket > now() - $2::interval GROUP BY 1 ORDER BY 1`;
    const first = await customer.call<{ points: { seconds: number }[] }>('GET', `/api/v1/servers/${target}/usage?range=30d`);
    if (first.status !== 200 || first.body.points.filter((p) => p.seconds > 0).length < 700) throw new Error(`the graph answered ${first.status} with ${JSON.stringify(first.body).slice(0, 200)}`);
    const plan2 = async (sql: string, params: unknown[]) =>
      (await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).filter((l) => /Scan|Buffers|Execution/.test(l)).map((l) => `    ${l.trim()}`);
    const apiTimes: number[] = [];
    const pgTimes: number[] = [];
    const beforeTimes: number[] = [];
    // different servers' graphs in turn (not one server's pages hot in the cache), the target's through the API
    const others = all.slice(1, ROLLUP_SERVERS);
    let apiCpu = 0;
    for (let i = 0; i < QUERIES; i++) {
      const c0 = cpuSeconds(apiPid);
      let t0 = now();
      await customer.call('GET', `/api/v1/servers/${target}/usage?range=30d`);
      apiTimes.push(now() - t0);
      apiCpu += cpuSeconds(apiPid) - c0;
      const sid = others.length ? others[i % others.length]! : target;
      t0 = now();
      await pool.query(graphSql, [sid, usageMod.usageGrid('30d', Date.now()).from, null]);
      pgTimes.push(now() - t0);
      t0 = now();
      await pool.query(beforeSql, [sid, '30 days']);
      beforeTimes.push(now() - t0);
    }
    // the API's floor on this machine: the same customer reading the same server (authentication, tenant, one row)
    const floorTimes: number[] = [];
    let floorCpu = 0;
    for (let i = 0; i < QUERIES; i++) {
      const c0 = cpuSeconds(apiPid);
      const t0 = now();
      await customer.call('GET', `/api/v1/servers/${target}`);
      floorTimes.push(now() - t0);
      floorCpu += cpuSeconds(apiPid) - c0;
    }
    const f = summary(floorTimes);
    const a = summary(apiTimes);
    const q = summary(pgTimes);
    const b = summary(beforeTimes);
    console.log(`  GET /servers/:id/usage?range=30d (${first.body.points.length} points): p50 ${a.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms over ${a.n} (target p99 < 20 ms: ${a.p99 < 20 ? 'met' : 'MISSED'})`);
    console.log(`  floor: GET /servers/:id (same auth and tenant check, one row): p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms; load average ${loadavg()[0]!.toFixed(1)}`);
    console.log(`  API CPU per request (/proc, the machine's load left out): 30-day graph ${((apiCpu / QUERIES) * 1000).toFixed(2)} ms, floor ${((floorCpu / QUERIES) * 1000).toFixed(2)} ms`);
    console.log(`  the API's SQL on PostgreSQL (index-only on the key with INCLUDE): p50 ${q.p50.toFixed(2)} ms, p99 ${q.p99.toFixed(2)} ms; API/SQL p99 ${(a.p99 / q.p99).toFixed(1)}x, p50 ${(a.p50 / q.p50).toFixed(1)}x`);
    console.log(`  before (plain key, grouped query through the heap): p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms; before/after p50 ${(b.p50 / q.p50).toFixed(1)}x, p99 ${(b.p99 / q.p99).toFixed(1)}x`);
    const probe = others[others.length - 1] ?? target;
    console.log(`  EXPLAIN after (a server not read yet):\n${(await plan2(graphSql, [probe, usageMod.usageGrid('30d', Date.now()).from, null])).join('\n')}`);
    console.log(`  EXPLAIN before (the same server):\n${(await plan2(beforeSql, [probe, '30 days'])).join('\n')}`);
  } finally {
    await nc.close().catch(() => undefined);
    await close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
