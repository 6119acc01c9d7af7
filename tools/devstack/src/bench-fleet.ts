/**
 * Fleet benchmark (issue 9, "Fleet scale"): many simulated nodes against one API process on the real
 * PostgreSQL and NATS, with 20,000 servers on them. Not part of the test suite.
 *
 * Each simulated node is the real node daemon's code (`startDaemon` from apps/node-daemon: its own NATS
 * connection, its own durable command consumer, its own heartbeat every HEARTBEAT_MS with its domain list)
 * over the daemon's in-memory FakeHypervisor instead of libvirt: the "light simulated hypervisor". All nodes
 * run in this one process; the API is a separate process, as in production.
 *
 *   npm run bench:fleet                                   1000 nodes, 20,000 servers
 *   BENCH_NODES=300 BENCH_SERVERS=6000 npm run bench:fleet
 *
 * Measured in the same run, each against its floor:
 * - order -> running p99 at BENCH_RATE (20) orders/s;
 * - command round trip (outbox dispatch -> result seen by the API) against a NATS request-reply on the same server;
 * - placement p99 (the API's own NodePlacementService.reserve over every node, rolled back);
 * - the share of one core the API spends on heartbeats (API CPU with heartbeats minus without), and the nodes';
 * - the first page of a tenant's server list with 10,000 servers, through the API against the same query on PostgreSQL.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import type { ServerView } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueName, waitFor } from '@oblako/testing';
import { ApiClient } from './http.js';
import { REPO_ROOT } from './stack.js';
import { startBenchStack } from './bench-stack.js';
import { cpuSeconds, intEnv, now, registerNodes, summary, writeServers } from './bench-stats.js';

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2).padStart(9) : '      n/a');
function row(name: string, x: { p50: number; p99: number; max: number }): void {
  console.log(`${name.padEnd(46)}${f(x.p50)}${f(x.p99)}${f(x.max)}`);
}

interface DaemonModule {
  startDaemon(config: unknown, deps: unknown): Promise<{ stop(): Promise<void> }>;
  defineConfig(c: Record<string, unknown>): unknown;
  FakeHypervisor: new () => { domains: Map<string, { xml: string; state: string }> };
  domainName(serverId: string): string;
}
interface PlacementModule {
  NodePlacementService: new () => { reserve(m: unknown, locationId: string, req: { vcpus: number; memoryMiB: number; diskGiB: number }): Promise<string> };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function main(): Promise<void> {
  const NODES = intEnv('BENCH_NODES', 1000);
  const SERVERS = intEnv('BENCH_SERVERS', 20_000);
  const LIST_SERVERS = Math.min(intEnv('BENCH_LIST_SERVERS', 10_000), SERVERS);
  const ORDERS = intEnv('BENCH_ORDERS', 200);
  const RATE = intEnv('BENCH_RATE', 20);
  const HEARTBEAT_MS = intEnv('BENCH_HEARTBEAT_MS', 5000);
  console.log(`Oblako fleet benchmark: ${NODES} simulated nodes (real daemon code, in-memory hypervisor), ${SERVERS} servers, heartbeat every ${HEARTBEAT_MS} ms, ${ORDERS} orders at ${RATE}/s`);

  const daemon = (await import(pathToFileURL(join(REPO_ROOT, 'apps/node-daemon/dist/src/index.js')).href)) as DaemonModule;
  const placementMod = (await import(pathToFileURL(join(REPO_ROOT, 'apps/api/dist/src/servers/node-placement.service.js')).href)) as PlacementModule;
  const apiMod = (await import(pathToFileURL(join(REPO_ROOT, 'apps/api/dist/src/app.js')).href)) as {
    createDataSource(s: { url: string; poolSize?: number }): { initialize(): Promise<unknown>; destroy(): Promise<void>; transaction<T>(fn: (m: unknown) => Promise<T>): Promise<T> };
  };

  const { stack, pool, admin, locationId, prefix, databaseUrl, close } = await startBenchStack('fleet', { mailCatcher: true, apiEnv: { DATABASE_POOL_SIZE: '20' } });
  const nodes: { stop(): Promise<void> }[] = [];
  const nodeDirs = join(tmpdir(), uniqueName('obf'));
  try {
    // --- the fleet: register every node through the API
    let t = now();
    const nodeIds = await registerNodes(admin, locationId, NODES);
    console.log(`registered ${NODES} nodes in ${((now() - t) / 1000).toFixed(1)} s`);

    // --- 20,000 servers, written straight into the database as if ordered long ago (10,000 of them one tenant's)
    t = now();
    const tenants = await pool.query<{ id: string }>(
      `INSERT INTO tenants (name) VALUES ('Big list tenant'), ('Rest of the fleet') RETURNING id`,
    );
    const [bigTenant, restTenant] = tenants.rows.map((r) => r.id) as [string, string];
    const byNode = await writeServers(pool, { count: SERVERS, nodeIds, tenants: [bigTenant, restTenant], firstCount: LIST_SERVERS, locationId });
    const plan = (await pool.query<{ id: string; vcpus: number; memory_mib: number; disk_gib: number }>(`SELECT id, vcpus, memory_mib, disk_gib FROM plans ORDER BY vcpus, memory_mib LIMIT 1`)).rows[0]!;
    const image = (await pool.query<{ id: string }>(`SELECT id FROM images LIMIT 1`)).rows[0]!;
    console.log(`wrote ${SERVERS} servers in ${((now() - t) / 1000).toFixed(1)} s (${Math.round(SERVERS / NODES)} per node)`);

    // --- start the simulated nodes, each holding its servers' domains
    t = now();
    const startCpu = process.cpuUsage();
    let startRetries = 0;
    for (let i = 0; i < nodeIds.length; i += 25) {
      await Promise.all(
        nodeIds.slice(i, i + 25).map(async (id) => {
          const hv = new daemon.FakeHypervisor();
          for (const sid of byNode.get(id) ?? []) hv.domains.set(daemon.domainName(sid), { xml: '', state: 'running' });
          const dir = join(nodeDirs, String(nodeIds.indexOf(id)));
          mkdirSync(dir, { recursive: true });
          const config = daemon.defineConfig({
            nodeId: id, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, heartbeatIntervalMs: HEARTBEAT_MS, dataDir: dir, consoleDir: join(dir, 'c'), logLevel: 'error',
          });
          // a loaded nats-server can time out a JetStream request at start: try again, as systemd would
          for (let attempt = 1; ; attempt++) {
            try {
              nodes.push(await daemon.startDaemon(config, { hypervisor: hv, logger: silent }));
              break;
            } catch (err) {
              if (attempt >= 5) throw err;
              startRetries++;
              await new Promise((r) => setTimeout(r, 1000));
            }
          }
        }),
      );
    }
    const cpuStart = process.cpuUsage(startCpu);
    console.log(`started ${NODES} simulated nodes in ${((now() - t) / 1000).toFixed(1)} s (${((cpuStart.user + cpuStart.system) / 1e6).toFixed(1)} CPU s, ${startRetries} starts retried)`);
    const onlineCount = async () =>
      (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM nodes WHERE state = 'online' AND id = ANY($1::uuid[])`, [nodeIds])).rows[0]!.n;
    const onlineBy = now() + 120_000;
    let online = await onlineCount();
    while (online < NODES && now() < onlineBy) {
      await new Promise((r) => setTimeout(r, 1000));
      online = await onlineCount();
    }
    console.log(`${online}/${NODES} nodes online ${((now() - t) / 1000).toFixed(1)} s after the first start${online < NODES ? ' (the rest still pending: measuring with what is online)' : ''}`);

    // --- heartbeats: CPU over a quiet window, with every node beating
    const WINDOW_MS = Math.max(4 * HEARTBEAT_MS, 20_000);
    const apiPid = stack.api.child.pid!;
    const apiCpu0 = cpuSeconds(apiPid);
    const simCpu0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const apiHeartbeatCore = (cpuSeconds(apiPid) - apiCpu0) / (WINDOW_MS / 1000);
    const simUse = process.cpuUsage(simCpu0);
    const simHeartbeatCore = (simUse.user + simUse.system) / 1e6 / (WINDOW_MS / 1000);

    // --- orders at RATE per second from a customer of its own
    const c = new ApiClient(stack.apiUrl);
    await c.register('fleet@bench.test', 'bench-password-123', 'Fleet bench');
    await stack.verifyEmail('fleet@bench.test');
    const body = (i: number) => ({ planId: plan.id, imageId: image.id, locationId, hostname: `order-${i}` });
    for (let i = 0; i < 5; i++) await c.ok('POST', '/api/v1/servers', body(1_000_000 + i)); // warm-up
    const sent = new Map<string, { t0: number; t201: number }>();
    const start = now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const wait = start + (i * 1000) / RATE - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push((async () => {
        const t0 = now();
        const s = await c.ok<ServerView>('POST', '/api/v1/servers', body(i));
        sent.set(s.id, { t0, t201: now() });
      })());
    }
    await Promise.all(inflight);
    const ids = [...sent.keys()];
    await waitFor(`${ORDERS} orders running`, async () => {
      const r = await pool.query<{ n: number; e: number }>(
        `SELECT count(*) FILTER (WHERE state = 'running')::int AS n, count(*) FILTER (WHERE state = 'error')::int AS e FROM servers WHERE id = ANY($1::uuid[])`, [ids],
      );
      if (r.rows[0]!.e) throw new Error(`${r.rows[0]!.e} orders ended in error`);
      return r.rows[0]!.n === ORDERS;
    }, { timeoutMs: 180_000, intervalMs: 200 });
    const timings = await pool.query<{ server_id: string; timings: Record<string, number> }>(`SELECT server_id, timings FROM tasks WHERE server_id = ANY($1::uuid[]) AND op = 'create'`, [ids]);
    const orderToRunning: number[] = [];
    const accepted: number[] = [];
    const roundTrip: number[] = [];
    for (const { server_id, timings: tm } of timings.rows) {
      const s = sent.get(server_id)!;
      orderToRunning.push(tm.resultSeenAt! - s.t0);
      accepted.push(s.t201 - s.t0);
      roundTrip.push(tm.resultSeenAt! - tm.dispatchedAt!);
    }

    // --- the floor of a command round trip: NATS request-reply through the same nats-server
    const nc = await connect({ servers: TEST_NATS_URL });
    const echo = nc.subscribe(`${prefix}.bench.echo`, { callback: (_e, m) => void m.respond(m.data) });
    const floor: number[] = [];
    const payload = JSON.stringify({ taskId: 'x'.repeat(36), spec: 'y'.repeat(600) });
    for (let i = 0; i < 500; i++) {
      const t0 = now();
      await nc.request(`${prefix}.bench.echo`, payload, { timeout: 5000 });
      floor.push(now() - t0);
    }
    echo.unsubscribe();
    await nc.close();

    // --- placement: the API's own code over every node, in a transaction rolled back each time
    const ds = apiMod.createDataSource({ url: databaseUrl, poolSize: 2 });
    await ds.initialize();
    const placement = new placementMod.NodePlacementService();
    const placementTimes: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = now();
      await ds.transaction(async (m) => {
        await placement.reserve(m, locationId, { vcpus: plan.vcpus, memoryMiB: plan.memory_mib, diskGiB: plan.disk_gib });
        placementTimes.push(now() - t0);
        throw new RollBack();
      }).catch((err: unknown) => {
        if (!(err instanceof RollBack)) throw err;
      });
    }
    await ds.destroy();

    // --- the first page of the big tenant's list: through the API, and the same query straight on PostgreSQL
    const owner = (await pool.query<{ id: string }>(`SELECT id FROM users WHERE email = 'fleet@bench.test'`)).rows[0]!;
    await pool.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [bigTenant, owner.id]);
    const lister = new ApiClient(stack.apiUrl);
    await lister.login('fleet@bench.test', 'bench-password-123');
    const headers = { 'x-tenant-id': bigTenant };
    const first = await lister.call<{ items: unknown[] }>('GET', '/api/v1/servers', undefined, { headers });
    if (first.status !== 200 || first.body.items.length === 0) throw new Error(`the list answered ${first.status} with ${JSON.stringify(first.body).slice(0, 200)}`);
    const apiList: number[] = [];
    const pgList: number[] = [];
    const limit = first.body.items.length;
    for (let i = 0; i < 200; i++) {
      let t0 = now();
      await lister.call('GET', '/api/v1/servers', undefined, { headers });
      apiList.push(now() - t0);
      t0 = now();
      await pool.query(`SELECT id, created_at::text AS ts FROM servers WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2`, [bigTenant, limit + 1]);
      pgList.push(now() - t0);
    }

    // --- the API without heartbeats: stop the nodes and measure again
    for (const n of nodes.splice(0)) await n.stop();
    await new Promise((r) => setTimeout(r, 2000));
    const idle0 = cpuSeconds(apiPid);
    await new Promise((r) => setTimeout(r, 10_000));
    const apiIdleCore = (cpuSeconds(apiPid) - idle0) / 10;

    console.log(`\n${'measure'.padEnd(46)}   p50 ms   p99 ms   max ms`);
    const o = summary(orderToRunning);
    row(`order -> running (${ORDERS} at ${RATE}/s)`, o);
    row('  of which HTTP 201 (placement, address, task)', summary(accepted));
    const rt = summary(roundTrip);
    row('command round trip (dispatch -> result seen)', rt);
    const fl = summary(floor);
    row('floor: NATS request-reply, same server', fl);
    const pl = summary(placementTimes);
    row(`placement over ${NODES} nodes (reserve, rolled back)`, pl);
    const al = summary(apiList);
    row(`list, first page of ${LIST_SERVERS} servers, API`, al);
    const pq = summary(pgList);
    row('floor: the same query on PostgreSQL', pq);
    const hb = apiHeartbeatCore - apiIdleCore;
    console.log(
      `\nheartbeats: API ${(apiHeartbeatCore * 100).toFixed(1)} % of a core with ${NODES} nodes beating every ${HEARTBEAT_MS} ms ` +
        `(${((NODES * 1000) / HEARTBEAT_MS).toFixed(0)}/s), ${(apiIdleCore * 100).toFixed(1)} % without: ${(hb * 100).toFixed(1)} % for heartbeats ` +
        `(target < 25 %: ${hb < 0.25 ? 'met' : 'MISSED'}); the simulated nodes' process ${(simHeartbeatCore * 100).toFixed(1)} % of a core`,
    );
    console.log(`order -> running p99 ${o.p99.toFixed(1)} ms`);
    console.log(`command round trip p99 ${rt.p99.toFixed(1)} ms (target < 50 ms: ${rt.p99 < 50 ? 'met' : 'MISSED'}), ${(rt.p99 / fl.p99).toFixed(1)}x the NATS floor's p99`);
    console.log(`placement p99 ${pl.p99.toFixed(1)} ms over ${NODES} nodes`);
    console.log(`list p99 ${al.p99.toFixed(1)} ms through the API (target < 20 ms: ${al.p99 < 20 ? 'met' : 'MISSED'}), ${(al.p99 / pq.p99).toFixed(1)}x the direct query's p99 (${pq.p99.toFixed(2)} ms)`);
  } finally {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await close();
    rmSync(nodeDirs, { recursive: true, force: true });
  }
}

class RollBack extends Error {}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
