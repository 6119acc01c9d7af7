import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { natsServerList, subjects } from '@oblako/contracts';

/**
 * Where the tests find PostgreSQL and NATS. scripts/test.sh makes sure both are up and exports
 * these; the defaults are the services every machine of this project already runs.
 */
export const TEST_PG_ADMIN_URL = process.env.OBLAKO_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_NATS_URL = process.env.OBLAKO_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** A NATS subject prefix no other run uses, e.g. `t_lq2x9_ab12cd34.oblako`. */
export function uniqueSubjectPrefix(): string {
  return `${uniqueName('t')}.oblako`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Create an empty database of its own for one test file; drop() removes it (forcing connections off). */
export async function createTestDatabase(prefix = 'oblako_test'): Promise<TestDatabase> {
  const name = uniqueName(prefix).toLowerCase();
  const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll `probe` until it returns a value other than undefined/false, or fail with `what` after the timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A fresh, valid OpenSSH ed25519 public key line (`ssh-ed25519 AAAA... comment`). */
export function newSshPublicKey(comment = 'test@oblako'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} ${comment}`;
}

/** Delete the JetStream streams of one subject prefix, so test runs leave nothing on a shared NATS. */
export async function dropStreams(prefix: string, natsUrl = TEST_NATS_URL): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: natsServerList(natsUrl) });
  try {
    const jsm = await jetstreamManager(nc);
    const s = subjects(prefix);
    for (const name of [s.commandStream, s.eventStream]) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
export * from './mail-catcher.js';
export * from './totp.js';
export * from './console-client.js';
export * from './nats-cluster.js';
export * from './nats-server.js';
export { parsePrometheus, promValue, type PromSample } from './prometheus.js';
