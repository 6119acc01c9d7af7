/**
 * The stack every fleet-sized benchmark starts the same way: its own database and stream names, the API with no
 * daemon, the staff admin signed in, and the seeded node kept out of placement (it never gets a daemon), so the
 * simulated nodes the benchmark registers are the whole fleet. `close()` removes everything it made.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, dropStreams, TEST_NATS_URL, uniqueName, uniqueSubjectPrefix } from '@oblako/testing';
import { ApiClient } from './http.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export interface BenchStack {
  stack: Stack;
  /** A small pool on the benchmark's database, for writing the fleet and reading counts. */
  pool: pg.Pool;
  /** The staff admin, signed in. */
  admin: ApiClient;
  locationId: string;
  /** The JetStream subject prefix of this run. */
  prefix: string;
  /** The benchmark's own database. */
  databaseUrl: string;
  close(): Promise<void>;
}

export async function startBenchStack(name: string, extra: Pick<StackOptions, 'apiEnv' | 'mailCatcher'> = {}): Promise<BenchStack> {
  const db = await createTestDatabase(`oblako_bench_${name}`);
  const prefix = uniqueSubjectPrefix();
  const dataDir = join(tmpdir(), uniqueName(`oblako-bench-${name}`));
  const cleanUp = async (stack?: Stack, pool?: pg.Pool) => {
    await pool?.end().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await db.drop();
    await dropStreams(prefix);
    rmSync(dataDir, { recursive: true, force: true });
  };
  let stack: Stack | undefined;
  let pool: pg.Pool | undefined;
  try {
    stack = await startStack({
      ...extra,
      dataDir, databaseUrl: db.url, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, noDaemon: true,
      seed: { adminEmail: 'admin@bench.test', adminPassword: 'bench-admin-password', node: { vcpus: 8, memoryMiB: 16384, diskGiB: 100 }, ipv4Cidr: '198.18.0.0/20', ipv4Gateway: '198.18.0.1' },
    });
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    const admin = new ApiClient(stack.apiUrl);
    await admin.login('admin@bench.test', 'bench-admin-password');
    await pool.query(`UPDATE nodes SET state = 'maintenance' WHERE id = $1`, [stack.seed.nodeId]);
    const s = stack, p = pool;
    return { stack: s, pool: p, admin, locationId: s.seed.locationId, prefix, databaseUrl: db.url, close: () => cleanUp(s, p) };
  } catch (err) {
    await cleanUp(stack, pool);
    throw err;
  }
}
