import { existsSync } from 'node:fs';
import { natsUrlProblem, STREAM_REPLICAS_DEFAULT, STREAM_REPLICAS_MAX } from '@oblako/contracts';
import { isAccountSeed, isOperatorSeed } from '../messaging/nats-credentials.js';
import { readBillingConfig, type BillingConfig } from '../billing/billing.config.js';
import { deriveDataKey } from '../auth/secrets.js';

/**
 * The API's configuration: read once at start-up from the environment into one typed object.
 * Nothing else in the API reads `process.env`.
 */
export interface NodeJoinConfig {
  /** NATS as the nodes reach it (NODE_NATS_URL, default NATS_URL). */
  natsUrl: string;
  /** PEM handed to joining nodes to check NATS' certificate (NODE_NATS_CA, default NATS_CA). */
  natsCaFile: string | null;
  /** Folder with join-node.sh and oblako-node.tar.gz, made by tools/install (NODE_BUNDLE_DIR). */
  bundleDir: string | null;
  /** `sha256//<base64>` of the panel certificate's public key when it is self-signed (PUBLIC_TLS_PIN): the join command pins it. */
  tlsPin: string | null;
  /** How long a join token lives (JOIN_TOKEN_TTL_SECONDS, default one hour). */
  tokenTtlSeconds: number;
}

export interface AppConfig {
  /** PostgreSQL connection string. */
  databaseUrl: string;
  /** Size of the database connection pool. */
  databasePoolSize: number;
  /** One NATS server URL, or the servers of a cluster separated by commas (NATS_URL). */
  natsUrl: string;
  /** Every NATS subject and JetStream name derives from this prefix. */
  natsSubjectPrefix: string;
  /** The API's own NATS credentials (.creds file), when the server requires them. */
  natsCredsFile: string | null;
  /** Account nkey seed (SA...) that signs each node's NATS user at registration; null = NATS without per-node users (development). */
  natsAccountSeed: string | null;
  /** Replicas of each JetStream stream the API creates (1 on one nats-server, 3 on a three-server cluster). */
  natsStreamReplicas: number;
  /** PEM the NATS server's TLS certificate is checked against (NATS with TLS); null = system CAs / no TLS. */
  natsCaFile: string | null;
  /**
   * Revocation of node users: an operator signing key (SO...) re-signs the account JWT with the
   * revocation list, pushed to the server as the system account's user (its .creds). Both null =
   * old node credentials stay valid when new ones are issued (development).
   */
  natsOperatorSigningSeed: string | null;
  natsSystemCredsFile: string | null;
  /** What hypervisors joining the fleet are told (`fleet/node-join.service.ts`). */
  nodes: NodeJoinConfig;
  port: number;
  /** Address to listen on. */
  host: string;
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  billing: BillingConfig;
  /** Log every SQL statement (development only). */
  logSql: boolean;
  /** How often the outbox relay polls when nothing woke it, in milliseconds. */
  outboxPollMs: number;
  /** A task with no word from its node for this long fails with a timeout. */
  taskTimeoutSeconds: number;
  fleet: FleetConfig;
  /** AES-256 key sealing secrets the API reads back (TOTP seeds, webhook secrets, queued mail). */
  dataKey: Buffer;
  /** Where customers open the panel; links in mail point here. */
  panelUrl: string;
  /** The provider's name and support address, named in every mail. */
  brand: { name: string; supportEmail: string };
  mail: MailConfig;
  /** Unverified accounts may sign in and look around but not order. */
  requireEmailVerification: boolean;
  /**
   * An order must carry an SSH key, a root password or both (ORDER_REQUIRES_LOGIN, default true). Test stacks that
   * order keyless test guests by the hundred turn it off; production and the demo never do.
   */
  orderRequiresLogin: boolean;
  /**
   * Images are offered (listed, orderable) only once a node has fetched them and checked their sha256, and each
   * node's heartbeat has it check the active images it has not checked yet (REQUIRE_VERIFIED_IMAGES, default true).
   * Test stacks whose simulated nodes answer no such command turn it off; production and the demo never do.
   */
  requireVerifiedImages: boolean;
  webhooks: WebhookConfig;
  consoles: ConsoleConfig;
  /** Bearer token that `GET /metrics` asks for (METRICS_TOKEN); null = /metrics answers 404 (docs/metrics.md). */
  metricsToken: string | null;
}

/** Reconciliation and self-healing (issue 9; DESIGN.md "Reconciliation and self-healing"). */
export interface FleetConfig {
  /** A node silent for this long turns offline: its servers show it, its creates move to another node (NODE_OFFLINE_AFTER_SECONDS, default 30). */
  nodeOfflineAfterSeconds: number;
  /** A server whose node has reported no domain for it this long turns `error` (RECONCILE_GRACE_SECONDS, default 30). */
  lostDomainGraceSeconds: number;
}

export interface ConsoleConfig {
  /** A console ticket must be redeemed within this long (default 30 s). */
  ticketSeconds: number;
  /** A session with no bytes either way for this long is closed (default 15 min). */
  idleSeconds: number;
  /** How often an open session re-checks that its user may still open it (default 15 s). */
  accessCheckSeconds: number;
}

export type SmtpSecurity = 'starttls' | 'tls' | 'none';

export interface MailConfig {
  /** SMTP server; null = no mail server configured (mail waits in the queue). */
  host: string | null;
  port: number;
  /** starttls: plain connection upgraded with STARTTLS (required); tls: TLS from the start (port 465); none: no TLS (local relays only). */
  security: SmtpSecurity;
  user: string | null;
  password: string | null;
  /** Reject SMTP servers whose certificate does not verify (default true). */
  tlsVerify: boolean;
  from: string;
  /** First retry after this long; doubles per attempt (capped at an hour), given up after 3 days. */
  retryBaseSeconds: number;
  pollMs: number;
}

export interface WebhookConfig {
  /** Development only: endpoints may be http://localhost, 127.0.0.1 or [::1]. Never in production. */
  allowLocalhost: boolean;
  /** First retry after this long; doubles per attempt (capped at 6 hours) for up to maxAgeSeconds. */
  retryBaseSeconds: number;
  /** A delivery is retried for this long, and an endpoint failing this long is turned off (3 days). */
  maxAgeSeconds: number;
  timeoutMs: number;
  pollMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const JWT_SECRET_MIN_LENGTH = 32;

/** Validate the environment and return the typed configuration, or throw a ConfigError that names every bad or missing setting. */
export function loadConfig(env: Env): AppConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const required = (name: string, hint: string): string => {
    const v = str(name);
    if (v === undefined) problems.push(`${name} is required: ${hint}`);
    return v ?? '';
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return n;
  };
  const url = (name: string, value: string, schemes: string[]): void => {
    if (!value) return;
    try {
      const u = new URL(value);
      if (!schemes.includes(u.protocol)) problems.push(`${name} must start with ${schemes.map((s) => `${s}//`).join(' or ')} (got "${u.protocol}//...")`);
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
  };

  const databaseUrl = required('DATABASE_URL', 'a PostgreSQL URL such as postgres://user:password@127.0.0.1:5432/oblako');
  url('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']);
  const natsUrl = required('NATS_URL', 'the NATS server, such as nats://127.0.0.1:4222');
  const natsUrlBad = natsUrl ? natsUrlProblem('NATS_URL', natsUrl) : null;
  if (natsUrlBad) problems.push(natsUrlBad);
  const natsSubjectPrefix = str('NATS_SUBJECT_PREFIX') ?? 'oblako';
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(natsSubjectPrefix)) {
    problems.push(`NATS_SUBJECT_PREFIX may contain only letters, digits, "-", "_" and single dots between parts (got "${natsSubjectPrefix}")`);
  }
  const jwtSecret = required('JWT_SECRET', `a random secret of at least ${JWT_SECRET_MIN_LENGTH} characters, e.g. the output of \`openssl rand -base64 48\``);
  if (jwtSecret && jwtSecret.length < JWT_SECRET_MIN_LENGTH) {
    problems.push(`JWT_SECRET must be at least ${JWT_SECRET_MIN_LENGTH} characters long (it has ${jwtSecret.length})`);
  }
  const natsCredsFile = str('NATS_CREDS') ?? null;
  if (natsCredsFile && !existsSync(natsCredsFile)) problems.push(`NATS_CREDS names a file that does not exist: ${natsCredsFile}`);
  const natsAccountSeed = str('NATS_ACCOUNT_SEED') ?? null;
  if (natsAccountSeed && !isAccountSeed(natsAccountSeed)) {
    problems.push('NATS_ACCOUNT_SEED must be an account nkey seed (it starts with "SA"; `nsc` or the demo launcher makes one)');
  }
  const fileSetting = (name: string): string | null => {
    const v = str(name) ?? null;
    if (v && !existsSync(v)) problems.push(`${name} names a file that does not exist: ${v}`);
    return v;
  };
  const natsCaFile = fileSetting('NATS_CA');
  const natsSystemCredsFile = fileSetting('NATS_SYSTEM_CREDS');
  const natsOperatorSigningSeed = str('NATS_OPERATOR_SIGNING_SEED') ?? null;
  if (natsOperatorSigningSeed && !isOperatorSeed(natsOperatorSigningSeed)) problems.push('NATS_OPERATOR_SIGNING_SEED must be an operator nkey seed (it starts with "SO"; tools/install makes one)');
  if (!!natsOperatorSigningSeed !== !!natsSystemCredsFile) problems.push('NATS_OPERATOR_SIGNING_SEED and NATS_SYSTEM_CREDS go together (both revoke old node credentials)');
  if (natsOperatorSigningSeed && !natsAccountSeed) problems.push('NATS_OPERATOR_SIGNING_SEED needs NATS_ACCOUNT_SEED (the account whose node users it revokes)');
  const nodeNatsUrl = str('NODE_NATS_URL') ?? natsUrl;
  const nodeNatsUrlBad = nodeNatsUrl && nodeNatsUrl !== natsUrl ? natsUrlProblem('NODE_NATS_URL', nodeNatsUrl) : null;
  if (nodeNatsUrlBad) problems.push(nodeNatsUrlBad);
  const bundleDir = str('NODE_BUNDLE_DIR') ?? null;
  if (bundleDir && !existsSync(bundleDir)) problems.push(`NODE_BUNDLE_DIR names a folder that does not exist: ${bundleDir}`);
  const tlsPin = str('PUBLIC_TLS_PIN') ?? null;
  if (tlsPin && !/^sha256\/\/[A-Za-z0-9+/]{43}=$/.test(tlsPin)) problems.push('PUBLIC_TLS_PIN must be sha256//<base64 of the SHA-256 of the certificate\'s public key> (tools/install computes it)');
  const nodes: NodeJoinConfig = {
    natsUrl: nodeNatsUrl,
    natsCaFile: fileSetting('NODE_NATS_CA') ?? natsCaFile,
    bundleDir,
    tlsPin,
    tokenTtlSeconds: int('JOIN_TOKEN_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
  };
  const billing = readBillingConfig({ str, int, problems });
  const bool = (name: string, def: boolean): boolean => {
    const raw = str(name);
    if (raw === undefined) return def;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return def;
  };
  let dataKey: Buffer | null = null;
  const dataKeyRaw = str('DATA_KEY');
  if (dataKeyRaw) {
    dataKey = Buffer.from(dataKeyRaw, 'base64');
    if (dataKey.length !== 32) problems.push('DATA_KEY must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`');
  }
  const panelUrl = (str('PANEL_URL') ?? 'http://localhost:4200').replace(/\/+$/, '');
  url('PANEL_URL', panelUrl, ['http:', 'https:']);
  const security = (str('SMTP_SECURITY') ?? 'starttls') as SmtpSecurity;
  if (!['starttls', 'tls', 'none'].includes(security)) problems.push(`SMTP_SECURITY must be starttls, tls or none (got "${security}")`);
  const mailFrom = str('MAIL_FROM') ?? 'Oblako <no-reply@localhost>';
  const supportEmail = str('SUPPORT_EMAIL') ?? 'support@localhost';
  const mail: MailConfig = {
    host: str('SMTP_HOST') ?? null,
    port: int('SMTP_PORT', security === 'tls' ? 465 : 587, 1, 65535),
    security,
    user: str('SMTP_USER') ?? null,
    password: env.SMTP_PASSWORD ? env.SMTP_PASSWORD : null,
    tlsVerify: bool('SMTP_TLS_VERIFY', true),
    from: mailFrom,
    retryBaseSeconds: int('MAIL_RETRY_BASE_SECONDS', 30, 1, 3600),
    pollMs: int('MAIL_POLL_MS', 1000, 50, 60_000),
  };
  if (mail.user && !mail.password) problems.push('SMTP_PASSWORD is required when SMTP_USER is set');
  const webhooks: WebhookConfig = {
    allowLocalhost: bool('WEBHOOKS_ALLOW_LOCALHOST', false),
    retryBaseSeconds: int('WEBHOOK_RETRY_BASE_SECONDS', 60, 1, 3600),
    maxAgeSeconds: int('WEBHOOK_MAX_AGE_SECONDS', 3 * 24 * 3600, 10, 30 * 24 * 3600),
    timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    pollMs: int('WEBHOOK_POLL_MS', 1000, 50, 60_000),
  };
  const metricsToken = str('METRICS_TOKEN') ?? null;
  if (metricsToken && (metricsToken.length < 24 || !/^[\x21-\x7e]+$/.test(metricsToken))) {
    problems.push('METRICS_TOKEN must be at least 24 printable characters without spaces, e.g. the output of `openssl rand -hex 24`');
  }
  const logSqlRaw = str('LOG_SQL') ?? 'false';
  if (!['true', 'false', '1', '0'].includes(logSqlRaw)) problems.push(`LOG_SQL must be true or false (got "${logSqlRaw}")`);

  const config: AppConfig = {
    databaseUrl,
    databasePoolSize: int('DATABASE_POOL_SIZE', 10, 1, 200),
    natsUrl,
    natsSubjectPrefix,
    natsCredsFile,
    natsAccountSeed,
    natsStreamReplicas: int('NATS_STREAM_REPLICAS', STREAM_REPLICAS_DEFAULT, 1, STREAM_REPLICAS_MAX),
    natsCaFile,
    natsOperatorSigningSeed,
    natsSystemCredsFile,
    nodes,
    port: int('PORT', 3000, 0, 65535),
    host: str('HOST') ?? '0.0.0.0',
    jwtSecret,
    accessTokenTtlSeconds: int('ACCESS_TOKEN_TTL_SECONDS', 15 * 60, 30, 24 * 3600),
    refreshTokenTtlSeconds: int('REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    billing,
    logSql: logSqlRaw === 'true' || logSqlRaw === '1',
    outboxPollMs: int('OUTBOX_POLL_MS', 1000, 50, 60_000),
    taskTimeoutSeconds: int('TASK_TIMEOUT_SECONDS', 600, 1, 7 * 24 * 3600),
    fleet: {
      nodeOfflineAfterSeconds: int('NODE_OFFLINE_AFTER_SECONDS', 30, 1, 3600),
      lostDomainGraceSeconds: int('RECONCILE_GRACE_SECONDS', 30, 1, 24 * 3600),
    },
    dataKey: dataKey ?? deriveDataKey(jwtSecret),
    panelUrl,
    brand: { name: str('BRAND_NAME') ?? 'Oblako', supportEmail },
    mail,
    requireEmailVerification: bool('REQUIRE_EMAIL_VERIFICATION', true),
    orderRequiresLogin: bool('ORDER_REQUIRES_LOGIN', true),
    requireVerifiedImages: bool('REQUIRE_VERIFIED_IMAGES', true),
    webhooks,
    consoles: {
      ticketSeconds: int('CONSOLE_TICKET_SECONDS', 30, 2, 300),
      idleSeconds: int('CONSOLE_IDLE_SECONDS', 900, 2, 24 * 3600),
      accessCheckSeconds: int('CONSOLE_ACCESS_CHECK_SECONDS', 15, 1, 600),
    },
    metricsToken,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
