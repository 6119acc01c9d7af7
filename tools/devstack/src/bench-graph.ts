/**
 * Graph latency benchmark (issue 11, "Measure": the 30-day graph of one server under 20 ms at p99, through the API).
 * One API process on the real PostgreSQL, a customer owning BENCH_SERVERS servers with 30 days of hourly rollups each,
 * and in ONE run, for every concurrency in BENCH_CONCURRENCY:
 *
 *   sql     the API's own graph statement (usage.service serverGraphSql) straight on PostgreSQL through pg
 *   health  GET /health: no authentication, Express + Nest routing + one `SELECT 1` (the framework's floor)
 *   server  GET /api/v1/servers/:id: authentication, tenant guard, one server (the authenticated floor)
 *   graph   GET /api/v1/servers/:id/usage?range=30d: the same guards, then 720 points
 *
 * The kinds take turns in blocks of BENCH_BLOCK requests (each block one kind at the level's concurrency), so a
 * change in the machine's load while the run goes on falls on every kind alike. Each server read is the next of the
 * customer's servers (no one server's pages kept hot). Printed per level: p50/p99/max of each kind as the client sees
 * it (until the last byte), the API's CPU per request (/proc), the server-side mean from the API's own /metrics
 * histogram, the ratios of graph to each floor, and the machine's load (load average, CPU busy from /proc/stat) over
 * the same window.
 *
 *   npm run bench:graph
 *   BENCH_CONCURRENCY=1,4,8 BENCH_REQUESTS=400 npm run bench:graph
 *   BENCH_CPU_PROF=/tmp/prof npm run bench:graph      the API is profiled; its .cpuprofile lands there
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { ApiClient } from './http.js';
import { REPO_ROOT } from './stack.js';
import { startBenchStack } from './bench-stack.js';
import { cpuSeconds, intEnv, now, registerNodes, summary, writeHourlyRollups, writeServers } from './bench-stats.js';

type Kind = 'sql' | 'health' | 'server' | 'graph';
const KINDS: Kind[] = ['sql', 'health', 'server', 'graph'];
const ROUTE: Record<Exclude<Kind, 'sql'>, string> = { health: '/health', server: '/api/v1/servers/:id', graph: '/api/v1/servers/:id/usage' };

/** The machine's CPU counters (all cores, clock ticks): busy = everything but idle and iowait. */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** BENCH_CONCURRENCY: a comma-separated list of positive whole numbers. */
function concurrencyLevels(): number[] {
  const raw = process.env.BENCH_CONCURRENCY ?? '1,4';
  const levels = raw.split(',').map((s) => Number(s.trim()));
  if (!levels.length || levels.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) throw new Error(`BENCH_CONCURRENCY must be whole numbers from 1 to 64, comma-separated (got "${raw}")`);
  return levels;
}

/** Sum and count of the API's HTTP histogram per route (GET, 200), and its cumulative buckets, from /metrics. */
async function httpHistogram(apiUrl: string, token: string): Promise<Map<string, { sum: number; count: number; buckets: Map<number, number> }>> {
  const res = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const out = new Map<string, { sum: number; count: number; buckets: Map<number, number> }>();
  const line = /^oblako_http_request_duration_seconds_(sum|count|bucket)\{(.*)\} (\S+)$/;
  for (const l of (await res.text()).split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (labels.method !== 'GET' || labels.status !== '200') continue;
    const e = out.get(labels.route!) ?? { sum: 0, count: 0, buckets: new Map<number, number>() };
    if (m[1] === 'sum') e.sum = Number(m[3]);
    else if (m[1] === 'count') e.count = Number(m[3]);
    else e.buckets.set(labels.le === '+Inf' ? Infinity : Number(labels.le), Number(m[3]));
    out.set(labels.route!, e);
  }
  return out;
}

/** The smallest bucket bound holding the p-th percentile of the observations between two scrapes. */
function bucketPercentile(before: Map<number, number> | undefined, after: Map<number, number>, p: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before?.get(Infinity) ?? 0);
  for (const le of bounds) if ((after.get(le)! - (before?.get(le) ?? 0)) >= (p / 100) * total) return le;
  return Infinity;
}

async function main(): Promise<void> {
  const SERVERS = intEnv('BENCH_SERVERS', 200);
  const REQUESTS = intEnv('BENCH_REQUESTS', 300);
  const BLOCK = intEnv('BENCH_BLOCK', 25);
  const levels = concurrencyLevels();
  const profDir = process.env.BENCH_CPU_PROF;
  console.log(
    `Oblako graph benchmark: the 30-day graph of one server (720 hourly points) through the API against its floors, ` +
      `${REQUESTS} requests of each kind at concurrency ${levels.join(', ')}, in blocks of ${BLOCK}; ${SERVERS} servers with 30 days of rollups`,
  );
  const { stack, pool, admin, locationId, databaseUrl, close } = await startBenchStack('graph', {
    // --cpu-prof is not allowed in NODE_OPTIONS: a preload runs the inspector's profiler and writes the profile at the stop
    apiEnv: profDir ? { NODE_OPTIONS: `--import=${pathToFileURL(join(REPO_ROOT, 'tools/devstack/dist/cpu-profile-preload.js')).href}`, OBLAKO_CPU_PROF_DIR: profDir } : {},
  });
  const sqlPool = new pg.Pool({ connectionString: databaseUrl, max: Math.max(...levels) });
  try {
    const t = now();
    const [nodeId] = await registerNodes(admin, locationId, 1, 'graph');
    const customer = new ApiClient(stack.apiUrl);
    await customer.register('graph@bench.test', 'bench-password-123', 'Graph bench');
    const other = new ApiClient(stack.apiUrl);
    await other.register('other@bench.test', 'bench-password-123', 'Other team');
    const tenantId = (await pool.query<{ tenant_id: string }>(
      `SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'graph@bench.test'`,
    )).rows[0]!.tenant_id;
    const servers = (await writeServers(pool, { count: SERVERS, nodeIds: [nodeId!], tenants: [tenantId, tenantId], firstCount: SERVERS, locationId })).get(nodeId!)!;
    await writeHourlyRollups(pool, servers, 30 * 24);
    await pool.query(`VACUUM ANALYZE usage_rollups`);
    console.log(`wrote ${SERVERS} servers and ${SERVERS * 720} hourly rollups in ${((now() - t) / 1000).toFixed(1)} s`);

    const usageMod = (await import(pathToFileURL(join(REPO_ROOT, 'apps/api/dist/src/usage/usage.service.js')).href)) as {
      serverGraphSql(level: '1h'): string;
      usageGrid(range: '30d', nowMs: number): { from: Date };
    };
    const graphSql = usageMod.serverGraphSql('1h');
    const auth = { accept: 'application/json', authorization: `Bearer ${customer.token!}` };
    const first = await customer.call<{ points: { seconds: number }[] }>('GET', `/api/v1/servers/${servers[0]}/usage?range=30d`);
    if (first.status !== 200 || first.body.points.length !== 720 || first.body.points.filter((p) => p.seconds > 0).length < 700) {
      throw new Error(`the graph answered ${first.status} with ${JSON.stringify(first.body).slice(0, 200)}`);
    }
    const foreign = await other.call('GET', `/api/v1/servers/${servers[0]}/usage?range=30d`);
    if (foreign.status !== 404) throw new Error(`another tenant's graph answered ${foreign.status}, not 404`);

    let next = 0;
    const serverId = () => servers[next++ % servers.length]!;
    /** One request of a kind; milliseconds until the last byte of the answer. */
    const once = async (kind: Kind): Promise<number> => {
      const id = serverId();
      const t0 = now();
      if (kind === 'sql') {
        await sqlPool.query(graphSql, [id, usageMod.usageGrid('30d', Date.now()).from, tenantId]);
        return now() - t0;
      }
      const path = kind === 'health' ? '/health' : kind === 'server' ? `/api/v1/servers/${id}` : `/api/v1/servers/${id}/usage?range=30d`;
      const res = await fetch(`${stack.apiUrl}${path}`, { headers: kind === 'health' ? { accept: 'application/json' } : auth });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
      return now() - t0;
    };
    const block = async (kind: Kind, count: number, concurrency: number, into: number[]) => {
      let left = count;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (left-- > 0) into.push(await once(kind));
      }));
    };
    // warm-up: JIT, the pools' connections, PostgreSQL's caches
    for (const kind of KINDS) await block(kind, 50, Math.max(...levels), []);

    const apiPid = stack.api.child.pid!;
    for (const c of levels) {
      const times: Record<Kind, number[]> = { sql: [], health: [], server: [], graph: [] };
      const cpu: Record<Kind, number> = { sql: 0, health: 0, server: 0, graph: 0 };
      const hist0 = await httpHistogram(stack.apiUrl, stack.metricsToken);
      const m0 = machineTicks();
      const load0 = loadavg()[0]!;
      const start = now();
      for (let done = 0, i = 0; done < REQUESTS; done += BLOCK, i++) {
        // rotate the order of the kinds, so none always follows the same one
        for (let k = 0; k < KINDS.length; k++) {
          const kind = KINDS[(i + k) % KINDS.length]!;
          const c0 = cpuSeconds(apiPid);
          await block(kind, Math.min(BLOCK, REQUESTS - done), c, times[kind]);
          cpu[kind] += cpuSeconds(apiPid) - c0;
        }
      }
      const wallS = (now() - start) / 1000;
      const m1 = machineTicks();
      const hist1 = await httpHistogram(stack.apiUrl, stack.metricsToken);
      const busy = (m1.busy - m0.busy) / (m1.total - m0.total);
      const s = Object.fromEntries(KINDS.map((k) => [k, summary(times[k])])) as Record<Kind, ReturnType<typeof summary>>;
      const out = [`\nconcurrency ${c}: ${wallS.toFixed(1)} s; load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)} on ${machineCores()} cores, machine CPU busy ${(busy * 100).toFixed(0)} %`];
      for (const k of KINDS) {
        const h = k === 'sql' ? null : { a: hist1.get(ROUTE[k]), b: hist0.get(ROUTE[k]) };
        const server = h?.a
          ? `; API side (/metrics) mean ${(((h.a.sum - (h.b?.sum ?? 0)) / (h.a.count - (h.b?.count ?? 0))) * 1000).toFixed(2)} ms, p99 <= ${(bucketPercentile(h.b?.buckets, h.a.buckets, 99) * 1000).toFixed(0)} ms, ` +
            `API CPU ${((cpu[k] / REQUESTS) * 1000).toFixed(2)} ms/request`
          : '';
        out.push(`  ${k.padEnd(6)} p50 ${s[k].p50.toFixed(2).padStart(7)} ms  p99 ${s[k].p99.toFixed(2).padStart(7)} ms  max ${s[k].max.toFixed(1).padStart(6)} ms (n ${s[k].n})${server}`);
      }
      const g = s.graph;
      out.push(
        `  graph / health  p50 ${(g.p50 / s.health.p50).toFixed(1)}x  p99 ${(g.p99 / s.health.p99).toFixed(1)}x;  graph / server  p50 ${(g.p50 / s.server.p50).toFixed(1)}x  p99 ${(g.p99 / s.server.p99).toFixed(1)}x;  ` +
          `graph / sql  p50 ${(g.p50 / s.sql.p50).toFixed(1)}x  p99 ${(g.p99 / s.sql.p99).toFixed(1)}x`,
      );
      out.push(`  target: 30-day graph p99 < 20 ms: ${g.p99 < 20 ? 'met' : 'MISSED'} (${g.p99.toFixed(1)} ms; the framework floor /health p99 is ${s.health.p99.toFixed(1)} ms in the same run)`);
      console.log(out.join('\n'));
    }
  } finally {
    await sqlPool.end().catch(() => undefined);
    await close();
  }
  if (profDir) console.log(`\nthe API's CPU profile (whole run, set-up included) is in ${profDir}`);
}

function machineCores(): number {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
