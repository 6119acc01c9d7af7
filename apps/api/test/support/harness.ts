import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTIVE_TASK_STATES, type TaskState } from '@oblako/contracts';
import { createTestDatabase, dropStreams, newSshPublicKey, startMailCatcher, TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor, type MailCatcher, type TestDatabase } from '@oblako/testing';
import type { LoggerService } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { loadConfig, startApi, type AppConfig, type RunningApi } from '../../src/app.js';
import { createDataSource, runMigrations } from '../../src/database/data-source.js';
import { seedDemo, type SeedOptions, type SeedResult } from '../../src/database/seed.js';

export interface HttpResult<T = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  status: number;
  body: T;
  headers: Headers;
}

export interface Harness {
  url: string;
  config: AppConfig;
  /** The environment the API was configured from (to start another replica as a process). */
  env: Record<string, string>;
  db: TestDatabase;
  /** A connection of the test's own, for counting rows and setting up state. */
  ds: DataSource;
  seed: SeedResult;
  api: RunningApi;
  http<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<HttpResult<T>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  login(email: string, password: string): Promise<string>;
  /** The SMTP server the API sends to (startHarness({ mail: true })). */
  mail: MailCatcher | null;
  /**
   * Register a new tenant with its owner; returns the access token and ids. The address counts as
   * verified (a fixture shortcut for tests about other things) unless `verified: false`.
   */
  register(label: string, opts?: { verified?: boolean }): Promise<{ token: string; refreshToken: string; tenantId: string; userId: string; email: string; password: string }>;
  count(table: string): Promise<number>;
  /** Wait until the server is in `state` with no task of it queued, dispatched or running; answers its view. */
  waitIdle(token: string, id: string, state: string, timeoutMs?: number): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Order a server (the seed's location and first image; the small plan unless one is given) and wait until it runs, idle; answers its id. */
  orderRunning(token: string, hostname: string, planId?: string): Promise<string>;
  close(): Promise<void>;
}

export const ADMIN = { email: 'admin@oblako.test', password: 'admin-password-123' };

export const PANEL_URL = 'http://panel.oblako.test';

export async function startHarness(options: { env?: Record<string, string>; seed?: Partial<SeedOptions>; mail?: boolean; logger?: LoggerService } = {}): Promise<Harness> {
  const mailDir = join(tmpdir(), uniqueName('oblako-mail'));
  const mail = options.mail ? await startMailCatcher({ dir: mailDir }) : null;
  const db = await createTestDatabase('oblako_api');
  await runMigrations(db.url);
  const prefix = uniqueSubjectPrefix();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    NATS_URL: TEST_NATS_URL,
    NATS_SUBJECT_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_POOL_SIZE: '10',
    OUTBOX_POLL_MS: '200',
    PANEL_URL,
    // most tests order keyless servers of the test driver; test/root-password.test.ts turns the rule on
    ORDER_REQUIRES_LOGIN: 'false',
    REQUIRE_VERIFIED_IMAGES: 'false',
    MAIL_POLL_MS: '200',
    MAIL_RETRY_BASE_SECONDS: '1',
    ...(mail ? { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(mail.smtpPort), SMTP_SECURITY: 'none', MAIL_FROM: 'Oblako Test <no-reply@oblako.test>' } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const ds = createDataSource({ url: db.url, poolSize: 4 });
  await ds.initialize();
  const seed = await seedDemo(ds, { adminEmail: ADMIN.email, adminPassword: ADMIN.password, ...options.seed });
  const api = await startApi(config, { logger: options.logger ?? (process.env.OBLAKO_TEST_LOGS ? ['log', 'warn', 'error'] : false) });
  const url = api.url;

  const http: Harness['http'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      headers['content-type'] ??= 'application/json';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // keep text
    }
    return { status: res.status, body: parsed as never, headers: res.headers };
  };

  let n = 0;
  const harness: Harness = {
    url, config, env, db, ds, seed, api, http, mail,
    async login(email, password) {
      const r = await http('POST', '/api/v1/auth/login', { body: { email, password } });
      if (r.status !== 200) throw new Error(`login ${email} failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.accessToken as string;
    },
    async register(label, opts = {}) {
      const email = `${label}-${++n}-${randomBytes(3).toString('hex')}@example.test`;
      const password = 'correct-horse-battery';
      const r = await http('POST', '/api/v1/auth/register', { body: { email, password, tenantName: `Tenant ${label}` } });
      if (r.status !== 201) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`);
      if (opts.verified !== false) await ds.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [r.body.user.id]);
      return { token: r.body.accessToken, refreshToken: r.body.refreshToken, tenantId: r.body.user.memberships[0].tenantId, userId: r.body.user.id, email, password };
    },
    async count(table) {
      const rows = await ds.query(`SELECT count(*)::int AS n FROM ${table}`);
      return rows[0].n as number;
    },
    waitIdle(token, id, state, timeoutMs = 5000) {
      return waitFor(`server ${id} to be ${state}`, async () => {
        const r = await http('GET', `/api/v1/servers/${id}`, { token });
        return r.body.state === state && !ACTIVE_TASK_STATES.includes(r.body.currentTask?.state as TaskState) ? r.body : undefined;
      }, { timeoutMs, intervalMs: 10 });
    },
    async orderRunning(token, hostname, planId = seed.planIds.small) {
      const created = await http('POST', '/api/v1/servers', { token, body: { planId, imageId: seed.imageIds[0], locationId: seed.locationId, hostname } });
      if (created.status !== 201) throw new Error(`order ${hostname}: ${created.status} ${JSON.stringify(created.body)}`);
      await harness.waitIdle(token, created.body.id, 'running');
      return created.body.id as string;
    },
    async close() {
      await api.close();
      await ds.destroy();
      await db.drop();
      await dropStreams(prefix);
      await mail?.stop();
      rmSync(mailDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A fresh, valid OpenSSH ed25519 public key line (the shared helper of every test project). */
export async function newEd25519Line(comment = 'test@oblako'): Promise<string> {
  return newSshPublicKey(comment);
}
