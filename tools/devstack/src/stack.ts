import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { freePort, startMailCatcher, waitFor, type MailCatcher } from '@oblako/testing';
import { natsServerList, subjects } from '@oblako/contracts';
import { startProcess, type ManagedProcess, type RestartPolicy } from './processes.js';
import { startEmbeddedPostgres, startNatsServer, type EmbeddedPostgres, type NatsServer } from './services.js';
import { startPanelServer } from './panel-server.js';
import { prepareNatsAuth, type NatsAuth } from './nats-auth.js';
import { ApiClient } from './http.js';
import { testDriverImages } from './test-images.js';
import { credsAuthenticator } from '@nats-io/transport-node';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:net';

/** The repository root (tools/devstack/dist/ is three levels down). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

/** The parts of the compiled API the stack calls (apps/api/src/app.ts). */
interface ApiModule {
  runMigrations(url: string): Promise<string[]>;
  createDataSource(s: { url: string; poolSize?: number }): { initialize(): Promise<unknown>; destroy(): Promise<void> };
  seedDemo(ds: unknown, opts: SeedOptions): Promise<SeedResult>;
  natsOperatorMode(stored?: Record<string, string>): Promise<{ keys: { accountSeed: string; operatorSigningSeed: string }; serverConfig(resolverDir: string): string; apiCreds: string; systemCreds: string }>;
}

export interface SeedOptions {
  adminEmail: string;
  adminPassword: string;
  customerEmail?: string;
  customerPassword?: string;
  customerTenantName?: string;
  node?: { vcpus: number; memoryMiB: number; diskGiB: number; cpuOvercommit?: number; memoryOvercommit?: number };
  ipv4Cidr?: string;
  ipv4Gateway?: string;
  images?: { name: string; osFamily: string; version: string; url: string; sha256: string; format: 'qcow2' | 'raw'; bootMode?: 'disk' | 'direct-kernel'; defaultUser?: string; guestAgent?: boolean }[];
}

export interface SeedResult {
  locationId: string;
  nodeId: string;
  ipPoolId: string;
  planIds: Record<'small' | 'medium' | 'large', string>;
  imageIds: string[];
  admin: { userId: string; email: string };
  customer: { userId: string; tenantId: string; email: string; password: string };
}

export async function loadApiModule(root = REPO_ROOT): Promise<ApiModule> {
  const file = join(root, 'apps/api/dist/src/app.js');
  if (!existsSync(file)) throw new Error(`The API is not built (${file} is missing): run npx nx run api:build`);
  return (await import(pathToFileURL(file).href)) as ApiModule;
}

/** Until the node has fetched every seeded image and verified its sha256 (what the catalogue waits for). */
async function waitImagesVerified(apiUrl: string, seed: SeedOptions, nodeId: string): Promise<void> {
  const admin = new ApiClient(apiUrl);
  await admin.login(seed.adminEmail, seed.adminPassword);
  const images = await admin.ok<{ id: string; name: string }[]>('GET', '/api/v1/admin/images');
  await waitFor(`node ${nodeId} to verify the seeded images`, async () => {
    for (const img of images) {
      const states = await admin.ok<{ nodeId: string; state: string; reason: string | null }[]>('GET', `/api/v1/admin/images/${img.id}/nodes`);
      const mine = states.find((x) => x.nodeId === nodeId);
      if (mine?.state === 'failed') throw new Error(`the node refused the seeded image ${img.name}: ${mine.reason}`);
      if (mine?.state !== 'verified') return undefined;
    }
    return true;
  }, { timeoutMs: 60_000, intervalMs: 100 });
}

/** Migrate and seed the database at `url`; idempotent. */
export async function prepareDatabase(url: string, seed: SeedOptions, root = REPO_ROOT): Promise<SeedResult> {
  const api = await loadApiModule(root);
  await api.runMigrations(url);
  const ds = api.createDataSource({ url, poolSize: 2 });
  await ds.initialize();
  try {
    return await api.seedDemo(ds, seed);
  } finally {
    await ds.destroy();
  }
}

export interface StackOptions {
  /** Logs and embedded data go here. */
  dataDir: string;
  /** Use this PostgreSQL; otherwise PGlite with its data in dataDir/pglite. */
  databaseUrl?: string;
  /** Use this NATS (one URL, or a cluster's servers separated by commas); otherwise a nats-server of our own with its store in dataDir/nats. */
  natsUrl?: string;
  /** Replicas of each JetStream stream (NATS_STREAM_REPLICAS of the API and every daemon); 3 on a three-server cluster. */
  natsStreamReplicas?: number;
  /**
   * Run our own nats-server in operator mode (default when we start it): the API gets an account
   * user and signs one restricted user per node; each daemon connects with its own .creds file.
   */
  natsAuth?: boolean;
  subjectPrefix?: string;
  /** 0 or unset: a free port. */
  apiPort?: number;
  /** Serve the panel on this port (built files from apps/panel); unset: no panel. */
  panelPort?: number;
  panelDir?: string;
  jwtSecret?: string;
  seed: SeedOptions;
  /** Extra environment for the API (e.g. Stripe settings). */
  apiEnv?: NodeJS.ProcessEnv;
  /** libvirt URI and extra environment of the node daemon. */
  libvirtUri?: string;
  daemonEnv?: NodeJS.ProcessEnv;
  /** Command prefix to run the daemon under (e.g. ['ip', 'netns', 'exec', 'oblako']). */
  daemonWrapper?: string[];
  /** Do not start a node daemon (tests that start their own). */
  noDaemon?: boolean;
  /** Echo child output to stderr. */
  echo?: boolean;
  /**
   * Start a mail catcher (a real SMTP server keeping what it gets, inbox page over HTTP) and point
   * the API's SMTP settings at it. Default true; false leaves mail queued (or apiEnv's SMTP_*).
   */
  mailCatcher?: boolean;
  /**
   * Keep the stack up: restart the API, the node daemons and nats-server when they exit
   * unexpectedly, with backoff, telling this function each time (the demo prints it). Unset: an
   * exit is final (tests that kill processes on purpose want that).
   */
  supervise?: (message: string) => void;
}

export interface Stack {
  apiUrl: string;
  panelUrl: string | null;
  natsUrl: string;
  /** Set when NATS runs in operator mode: the keys and the API's credentials. */
  natsAuth: NatsAuth | null;
  databaseUrl: string;
  subjectPrefix: string;
  seed: SeedResult;
  embeddedPostgres: EmbeddedPostgres | null;
  nats: NatsServer | null;
  api: ManagedProcess;
  daemon: ManagedProcess | null;
  /** The mail catcher the API sends to (unless mailCatcher: false). */
  mail: MailCatcher | null;
  /** Confirm a new account's address the way its owner would: the link from the verification mail. */
  verifyEmail(email: string): Promise<void>;
  /** Where a node daemon started by the stack keeps its files (and its nats.creds). */
  dataDirOf(nodeId: string): string;
  /** The API's METRICS_TOKEN (apiEnv's, or a random one): `Authorization: Bearer <it>` on GET /metrics. */
  metricsToken: string;
  /** Where the daemon of `nodeId` started by the stack serves /metrics (127.0.0.1, a free port), null if none. */
  daemonMetricsUrl(nodeId: string): string | null;
  /** Start another API replica (same database, NATS and secrets) on `port` or a free one; it answers /health when this resolves. */
  startApi(name?: string, port?: number): Promise<{ url: string; port: number; process: ManagedProcess }>;
  /** Start (another) node daemon process for `nodeId`. */
  startDaemon(nodeId: string, env?: NodeJS.ProcessEnv, name?: string): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

/** Start the whole product: database, NATS, API, one node daemon, and optionally the panel. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const root = REPO_ROOT;
  mkdirSync(opts.dataDir, { recursive: true });
  const logs = join(opts.dataDir, 'logs');
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  };
  const restart: RestartPolicy | undefined = opts.supervise ? { report: opts.supervise } : undefined;
  try {
    let embeddedPostgres: EmbeddedPostgres | null = null;
    let databaseUrl = opts.databaseUrl;
    if (!databaseUrl) {
      embeddedPostgres = await startEmbeddedPostgres(join(opts.dataDir, 'pglite'));
      cleanups.push(() => embeddedPostgres!.stop());
      databaseUrl = embeddedPostgres.url;
    }
    // A stack with a node and no images of its own gets the test-driver catalogue (real files, real sha256) and keeps
    // the verified-images gate on, as production does: its node checks them at its first heartbeat, and the stack is
    // up once they are verified. A stack that brings its own images (real guests) or has no node keeps the gate off
    // unless apiEnv turns it on.
    const ownImages = !opts.seed.images && !opts.noDaemon;
    const seed = await prepareDatabase(databaseUrl, ownImages ? { ...opts.seed, images: await testDriverImages(join(opts.dataDir, 'images')) } : opts.seed, root);
    const gateOn = (opts.apiEnv?.REQUIRE_VERIFIED_IMAGES ?? (ownImages ? 'true' : 'false')) === 'true';

    let nats: NatsServer | null = null;
    let natsUrl = opts.natsUrl;
    let auth: NatsAuth | null = null;
    if (!natsUrl) {
      if (opts.natsAuth !== false) auth = await prepareNatsAuth(join(opts.dataDir, 'nats-auth'));
      nats = await startNatsServer({ dataDir: join(opts.dataDir, 'nats'), logFile: join(logs, 'nats.log'), configFile: auth?.configFile, credsFile: auth?.apiCredsFile, restart });
      cleanups.push(() => nats!.stop());
      natsUrl = nats.url;
    }
    const subjectPrefix = opts.subjectPrefix ?? 'oblako';
    let mail: MailCatcher | null = null;
    if (opts.mailCatcher !== false) {
      mail = await startMailCatcher({ dir: join(opts.dataDir, 'mail'), echo: opts.echo });
      cleanups.push(() => mail!.stop());
    }
    // A fixed port another program holds is refused here: the API would fail to listen, and the wait for its
    // /health would then be answered by whatever holds the port (seen: another clone's demo, whose API refused
    // this demo's sign-in with 401 invalid_credentials).
    if (opts.apiPort) await ensurePortFree(opts.apiPort, 'the API', 'PORT');
    if (opts.panelPort) await ensurePortFree(opts.panelPort, 'the panel', 'PANEL_PORT');
    const apiPort = opts.apiPort || (await freePort());
    const panelPort = opts.panelPort || (opts.panelPort === 0 ? await freePort() : undefined);
    const jwtSecret = opts.jwtSecret ?? randomBytes(48).toString('base64url');
    const metricsToken = opts.apiEnv?.METRICS_TOKEN ?? randomBytes(24).toString('hex');
    const daemonMetrics = new Map<string, string>();
    const startApi = async (name = 'api', port?: number): Promise<{ url: string; port: number; process: ManagedProcess }> => {
      const chosen = port || (await freePort());
      const proc = startProcess({
        name,
        command: process.execPath,
        args: [join(root, 'apps/api/dist/src/main.js')],
        env: {
          ...process.env,
          ...(mail ? { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(mail.smtpPort), SMTP_SECURITY: 'none', MAIL_POLL_MS: '250', MAIL_RETRY_BASE_SECONDS: '2' } : {}),
          ...(panelPort ? { PANEL_URL: `http://localhost:${panelPort}` } : {}),
          // Development mode: webhook endpoints on this machine are allowed (never in production).
          WEBHOOKS_ALLOW_LOCALHOST: 'true',
          // test stacks order keyless test guests; the demo (apiEnv) and production keep the rule
          ORDER_REQUIRES_LOGIN: 'false',
          REQUIRE_VERIFIED_IMAGES: ownImages ? 'true' : 'false',
          METRICS_TOKEN: metricsToken,
          ...opts.apiEnv,
          DATABASE_URL: databaseUrl,
          NATS_URL: natsUrl,
          NATS_SUBJECT_PREFIX: subjectPrefix,
          ...(opts.natsStreamReplicas ? { NATS_STREAM_REPLICAS: String(opts.natsStreamReplicas) } : {}),
          ...(auth ? { NATS_CREDS: auth.apiCredsFile, NATS_ACCOUNT_SEED: auth.accountSeed, NATS_OPERATOR_SIGNING_SEED: auth.operatorSigningSeed, NATS_SYSTEM_CREDS: auth.systemCredsFile } : {}),
          PORT: String(chosen),
          HOST: '127.0.0.1',
          JWT_SECRET: jwtSecret,
        },
        logFile: join(logs, `${name}.log`),
        echo: opts.echo,
        restart,
      });
      cleanups.push(() => proc.stop());
      const url = `http://127.0.0.1:${chosen}`;
      let exited = false;
      try {
        await waitFor(
          `the API to answer on ${url}/health (log: ${join(logs, `${name}.log`)})`,
          async () => {
            if (proc.child.exitCode !== null && !restart) exited = true;
            if (exited) return true;
            const r = await fetch(`${url}/health`);
            return r.ok;
          },
          { timeoutMs: 60_000, intervalMs: 100 },
        );
      } catch (err) {
        await proc.stop();
        throw err;
      }
      if (exited) throw new Error(`the API exited with code ${proc.child.exitCode} before answering (log: ${join(logs, `${name}.log`)})`);
      return { url, port: chosen, process: proc };
    };
    const first = await startApi('api', apiPort);
    const api = first.process;
    const apiUrl = first.url;

    // The stack's own NATS connection (to watch heartbeats) uses the API's identity.
    const watchAuth = auth ? { authenticator: credsAuthenticator(readFileSync(auth.apiCredsFile)) } : {};
    const startDaemon = async (nodeId: string, env: NodeJS.ProcessEnv = {}, name = `daemon-${nodeId.slice(0, 8)}`) => {
      const credsEnv: NodeJS.ProcessEnv = {};
      if (auth) {
        // as an operator would: ask the API for the node's credentials and hand them to the daemon
        const admin = new ApiClient(apiUrl);
        await admin.login(opts.seed.adminEmail, opts.seed.adminPassword);
        const reg = await admin.ok<{ daemon: { natsCreds?: string } }>('POST', `/api/v1/admin/nodes/${nodeId}/credentials`);
        if (!reg.daemon.natsCreds) throw new Error('the API issued no NATS credentials although NATS_ACCOUNT_SEED is set');
        const dir = join(opts.dataDir, 'node', nodeId);
        mkdirSync(dir, { recursive: true });
        const credsFile = join(dir, 'nats.creds');
        writeFileSync(credsFile, reg.daemon.natsCreds, { mode: 0o600 });
        credsEnv.NATS_CREDS = credsFile;
      }
      // each daemon its own free port: several on one machine must not fight over the default 9465
      const metricsListen = `127.0.0.1:${await freePort()}`;
      const nc = await connect({ servers: natsServerList(natsUrl!), ...watchAuth });
      try {
        const sub = nc.subscribe(subjects(subjectPrefix).nodeHeartbeat(nodeId), { max: 1 });
        const wrapper = opts.daemonWrapper ?? [];
        const proc = startProcess({
          name,
          command: wrapper[0] ?? process.execPath,
          args: [...(wrapper.length ? [...wrapper.slice(1), process.execPath] : []), join(root, 'apps/node-daemon/dist/src/main.js')],
          env: {
            ...process.env,
            NODE_ID: nodeId,
            NATS_URL: natsUrl,
            NATS_SUBJECT_PREFIX: subjectPrefix,
            ...(opts.natsStreamReplicas ? { NATS_STREAM_REPLICAS: String(opts.natsStreamReplicas) } : {}),
            LIBVIRT_URI: opts.libvirtUri ?? 'test:///default',
            OBLAKO_DATA_DIR: join(opts.dataDir, 'node', nodeId),
            HEARTBEAT_INTERVAL_MS: '2000',
            METRICS_LISTEN: metricsListen,
            ...credsEnv,
            ...opts.daemonEnv,
            ...env,
          },
          logFile: join(logs, `${name}.log`),
          echo: opts.echo,
          restart,
        });
        cleanups.push(() => proc.stop());
        let timer: NodeJS.Timeout | undefined;
        const first = (async () => {
          for await (const _ of sub) return true;
          return false;
        })();
        const exited = proc.exited.then((code) => {
          throw new Error(`the node daemon exited with code ${code} before its first heartbeat (log: ${join(logs, `${name}.log`)})`);
        });
        const timeout = new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(new Error(`no heartbeat from node ${nodeId} within 30 s (log: ${join(logs, `${name}.log`)})`)), 30_000);
        });
        exited.catch(() => {});
        timeout.catch(() => {});
        try {
          await Promise.race([first, exited, timeout]);
        } finally {
          clearTimeout(timer);
        }
        const listen = env.METRICS_LISTEN ?? opts.daemonEnv?.METRICS_LISTEN ?? metricsListen;
        if (listen === 'off') daemonMetrics.delete(nodeId);
        else daemonMetrics.set(nodeId, `http://${listen}/metrics`);
        return proc;
      } finally {
        await nc.close();
      }
    };

    const daemon = opts.noDaemon ? null : await startDaemon(seed.nodeId, {}, 'daemon');
    if (daemon && ownImages && gateOn) await waitImagesVerified(apiUrl, opts.seed, seed.nodeId);

    let panelUrl: string | null = null;
    if (panelPort !== undefined) {
      const server: Server = await startPanelServer({
        root: opts.panelDir ?? join(root, 'apps/panel/dist/browser'),
        port: panelPort,
        apiUrl,
      });
      cleanups.push(() => new Promise<void>((ok) => server.close(() => ok())));
      const addr = server.address();
      panelUrl = `http://localhost:${typeof addr === 'object' && addr ? addr.port : panelPort}`;
    }

    const verifyEmail = async (email: string) => {
      if (!mail) throw new Error('verifyEmail needs the mail catcher (mailCatcher: true)');
      const m = await mail.waitForMail(email, (x) => /verify-email\?token=/.test(x.text), 20_000);
      const link = m.text.match(/https?:\/\/\S*\/verify-email\?token=\S+/)?.[0];
      const token = link ? new URL(link).searchParams.get('token') : null;
      if (!token) throw new Error(`the verification mail to ${email} has no link:\n${m.text}`);
      const r = await new ApiClient(apiUrl).call('POST', '/api/v1/auth/verify-email', { token });
      if (r.status !== 200) throw new Error(`verifying ${email} failed: ${r.status} ${JSON.stringify(r.body)}`);
    };

    return {
      apiUrl,
      panelUrl,
      natsUrl,
      natsAuth: auth,
      databaseUrl,
      subjectPrefix,
      seed,
      embeddedPostgres,
      nats,
      api,
      daemon,
      mail,
      verifyEmail,
      startDaemon,
      startApi,
      metricsToken,
      daemonMetricsUrl: (nodeId: string) => daemonMetrics.get(nodeId) ?? null,
      dataDirOf: (nodeId: string) => join(opts.dataDir, 'node', nodeId),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Fails with what to do when `port` on 127.0.0.1 is held by another program. */
async function ensurePortFree(port: number, what: string, envName: string): Promise<void> {
  const err = await new Promise<NodeJS.ErrnoException | null>((done) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => done(e));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(null)));
  });
  if (!err) return;
  if (err.code === 'EADDRINUSE') {
    throw new Error(`port ${port} for ${what} is already in use by another program (\`ss -ltnp 'sport = :${port}'\` shows which): stop it, or choose another port with ${envName}=<port>`);
  }
  throw new Error(`cannot listen on 127.0.0.1:${port} for ${what}: ${err.message}`);
}
