/**
 * Benchmark: order -> running over many orders on libvirt's test driver, with the API and the
 * node daemon as separate processes on the real PostgreSQL and NATS, and as the floor the same
 * libvirt calls (define + create + getInfo of the same domain XML) made directly in the same run.
 *
 *   npm run bench                      200 orders at 20 per second
 *   BENCH_ORDERS=500 BENCH_RATE=50 npm run bench
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ServerView } from '@oblako/contracts';
import { createTestDatabase, dropStreams, TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor } from '@oblako/testing';
import { ApiClient } from './http.js';
import { REPO_ROOT, startStack } from './stack.js';
import { intEnv, now, summary } from './bench-stats.js';

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2).padStart(8) : '     n/a');

interface DaemonModule {
  loadLibvirtAddon(): Promise<{
    Hypervisor: new (o: { uri: string }) => {
      connectOpen(): Promise<void>;
      connectClose(): Promise<void>;
      domainDefineXML(xml: string): Promise<{ create(): Promise<void>; getInfo(): Promise<{ state: number }>; destroy(): Promise<void>; undefine(): Promise<void> }>;
    };
  }>;
  buildDomainXml(input: { type: string; serverId: string; hostname: string; vcpus: number; memoryMiB: number; consoles: boolean }): string;
}

/** The floor: the libvirt calls the daemon makes for a create, straight through the addon. */
async function directLibvirt(n: number): Promise<number[]> {
  const daemon = (await import(pathToFileURL(join(REPO_ROOT, 'apps/node-daemon/dist/src/index.js')).href)) as DaemonModule;
  const lv = await daemon.loadLibvirtAddon();
  const h = new lv.Hypervisor({ uri: 'test:///default' });
  await h.connectOpen();
  const times: number[] = [];
  const held: unknown[] = []; // the addon frees a domain when its JS object is collected, even mid-call
  try {
    for (let i = 0; i < n; i++) {
      const xml = daemon.buildDomainXml({ type: 'test', serverId: randomUUID(), hostname: `floor-${i}`, vcpus: 1, memoryMiB: 512, consoles: false });
      const t0 = now();
      const dom = await h.domainDefineXML(xml);
      held.push(dom);
      await dom.create();
      await dom.getInfo();
      times.push(now() - t0);
    }
  } finally {
    await h.connectClose();
  }
  return times;
}

async function main(): Promise<void> {
  const orders = intEnv('BENCH_ORDERS', 200);
  const rate = intEnv('BENCH_RATE', 20);
  console.log(`Oblako benchmark: ${orders} orders at ${rate}/s, libvirt test driver, real PostgreSQL and NATS, API and daemon as processes`);

  const floor = summary(await directLibvirt(orders));

  const db = await createTestDatabase('oblako_bench');
  const stack = await startStack({
    dataDir: join(tmpdir(), uniqueName('oblako-bench')),
    databaseUrl: db.url,
    natsUrl: TEST_NATS_URL,
    subjectPrefix: uniqueSubjectPrefix(),
    seed: {
      adminEmail: 'admin@bench.test',
      adminPassword: 'bench-admin-password',
      node: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 1024 * 1024 },
      ipv4Cidr: '198.18.0.0/20',
      ipv4Gateway: '198.18.0.1',
    },
  });
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    const c = new ApiClient(stack.apiUrl);
    await c.register('bench@bench.test', 'bench-password-123', 'Bench');
    await stack.verifyEmail('bench@bench.test');
    const [location] = await c.ok<{ id: string }[]>('GET', '/api/v1/locations');
    const plans = await c.ok<{ id: string; vcpus: number }[]>('GET', '/api/v1/plans');
    const [image] = await c.ok<{ id: string }[]>('GET', '/api/v1/images');
    const body = (i: number) => ({ planId: plans[0]!.id, imageId: image!.id, locationId: location!.id, hostname: `bench-${i}` });

    // warm-up: connections, JIT, prepared plans
    for (let i = 0; i < 5; i++) await c.ok('POST', '/api/v1/servers', body(1_000_000 + i));

    const sent = new Map<string, { t0: number; t201: number }>();
    const interval = 1000 / rate;
    const start = now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < orders; i++) {
      const due = start + i * interval;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(
        (async () => {
          const t0 = now();
          const s = await c.ok<ServerView>('POST', '/api/v1/servers', body(i));
          sent.set(s.id, { t0, t201: now() });
        })(),
      );
    }
    await Promise.all(inflight);
    const ids = [...sent.keys()];
    const outcome = await waitFor(
      `all ${orders} servers to be running`,
      async () => {
        const failed = await pool.query<{ error: string }>(
          `SELECT t.error FROM tasks t JOIN servers s ON s.id = t.server_id WHERE s.id = ANY($1::uuid[]) AND s.state = 'error' LIMIT 3`,
          [ids],
        );
        if (failed.rows.length) return { failed: failed.rows.map((r) => r.error) };
        const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM servers WHERE id = ANY($1::uuid[]) AND state = 'running'`, [ids]);
        return Number(r.rows[0]!.n) === orders ? { failed: [] as string[] } : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    if (outcome.failed.length) throw new Error(`some orders ended in error: ${outcome.failed.join('; ')}`);
    const rows = await pool.query<{ server_id: string; timings: Record<string, number> }>(
      `SELECT server_id, timings FROM tasks WHERE server_id = ANY($1::uuid[]) AND op = 'create'`,
      [ids],
    );
    // The stages are stamped by the API and the daemon on this machine's one clock. `dispatchedAt` is when
    // JetStream's publish ack came back, and the daemon often has the message before that ack, so
    // "daemon received" is counted from the accept, not from the ack (from the ack it went negative).
    const stages: Record<string, number[]> = {
      'accepted (HTTP 201)': [], 'published (accept -> JetStream ack)': [], 'daemon received (from accept)': [], 'daemon prepared': [],
      'libvirt define+start': [], 'running seen by API': [], 'order -> running': [],
    };
    for (const { server_id, timings: t } of rows.rows) {
      const s = sent.get(server_id)!;
      stages['accepted (HTTP 201)']!.push(s.t201 - s.t0);
      stages['published (accept -> JetStream ack)']!.push(t.dispatchedAt! - t.acceptedAt!);
      stages['daemon received (from accept)']!.push(t.daemonReceivedAt! - t.acceptedAt!);
      stages['daemon prepared']!.push(t.hypervisorStartedAt! - t.daemonReceivedAt!);
      stages['libvirt define+start']!.push(t.hypervisorDoneAt! - t.hypervisorStartedAt!);
      stages['running seen by API']!.push(t.resultSeenAt! - t.hypervisorDoneAt!);
      stages['order -> running']!.push(t.resultSeenAt! - s.t0);
    }
    console.log('\nstage                                   p50 ms   p99 ms   max ms');
    for (const [name, values] of Object.entries(stages)) {
      const x = summary(values);
      console.log(`${name.padEnd(38)}${fmt(x.p50)} ${fmt(x.p99)} ${fmt(x.max)}`);
    }
    console.log(`${'floor: direct libvirt calls'.padEnd(38)}${fmt(floor.p50)} ${fmt(floor.p99)} ${fmt(floor.max)}`);
    const total = summary(stages['order -> running']!);
    const overhead = total.p50 - floor.p50;
    console.log(
      `\norder -> running p99 ${total.p99.toFixed(1)} ms (target < 250 ms: ${total.p99 < 250 ? 'met' : 'MISSED'}); ` +
        `control plane adds ${overhead.toFixed(1)} ms at p50 over the direct calls (target <= 50 ms: ${overhead <= 50 ? 'met' : 'MISSED'}); ` +
        `ratio p50 order->running / direct = ${(total.p50 / floor.p50).toFixed(1)}x`,
    );
  } finally {
    await pool.end();
    await stack.stop();
    await db.drop();
    await dropStreams(stack.subjectPrefix);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
