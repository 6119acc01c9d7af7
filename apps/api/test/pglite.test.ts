import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { subjects } from '@oblako/contracts';
import { freePort, TEST_NATS_URL, uniqueSubjectPrefix, waitFor } from '@oblako/testing';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { createDataSource, loadConfig, runMigrations, seedDemo, startApi, type RunningApi, type SeedResult } from '../src/app.js';
import { FakeNode } from './support/fake-node.js';

/** The demo's database: PGlite behind pglite-socket. Migrations, seed and an order must work on it too. */
let db: PGlite;
let server: PGLiteSocketServer;
let api: RunningApi;
let node: FakeNode;
const prefix = uniqueSubjectPrefix();
let demo: SeedResult;

before(async () => {
  db = await PGlite.create();
  const port = await freePort();
  server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 20 });
  await server.start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await runMigrations(url);
  const ds = createDataSource({ url, poolSize: 1 });
  await ds.initialize();
  const seed = await seedDemo(ds, { adminEmail: 'admin@pglite.test', adminPassword: 'admin-password-123' });
  assert.deepEqual(await seedDemo(ds, { adminEmail: 'admin@pglite.test', adminPassword: 'admin-password-123' }), seed, 'the seed is idempotent');
  await ds.destroy();
  // The simulated node answers no image_verify, so the verified-images gate (tested in image-verification.test) is
  // off here, as in every harness stack: this test is about PGlite.
  api = await startApi(
    loadConfig({ DATABASE_URL: url, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix, JWT_SECRET: randomBytes(32).toString('hex'), PORT: '0', HOST: '127.0.0.1', REQUIRE_VERIFIED_IMAGES: 'false' }),
    { logger: false },
  );
  node = await FakeNode.start(prefix, seed.nodeId);
  demo = seed;
});

after(async () => {
  await node?.stop();
  await api?.close();
  await server?.stop();
  await db?.close();
  const nc = await connect({ servers: TEST_NATS_URL });
  const jsm = await jetstreamManager(nc);
  const s = subjects(prefix);
  for (const name of [s.commandStream, s.eventStream]) await jsm.streams.delete(name).catch(() => undefined);
  await nc.close();
});

test('on PGlite: the demo customer orders servers in parallel and they run', async () => {
  const seed = demo;
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: (await res.json()) as any };
  };
  const login = await call('POST', '/api/v1/auth/login', { email: seed.customer.email, password: seed.customer.password });
  assert.equal(login.status, 200);
  const token = login.body.accessToken as string;
  const orders = await Promise.all(
    [1, 2, 3, 4].map((i) => call('POST', '/api/v1/servers', { planId: seed.planIds.small, imageId: seed.imageIds[0], locationId: seed.locationId, hostname: `demo-${i}`, rootPassword: 'Demo-root-pass-1234' }, token)),
  );
  for (const o of orders) assert.equal(o.status, 201, JSON.stringify(o.body));
  assert.equal(new Set(orders.map((o) => o.body.addresses[0].address)).size, 4);
  await waitFor('all four running', async () => {
    const list = await call('GET', '/api/v1/servers', undefined, token);
    return list.body.items.length === 4 && list.body.items.every((s: { state: string }) => s.state === 'running');
  }, { timeoutMs: 10_000, intervalMs: 50 });
});
