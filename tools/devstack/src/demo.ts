/**
 * The demo launcher behind scripts/demo.sh: embedded defaults, demo data, the panel's URL and
 * the logins printed, everything stopped cleanly on Ctrl-C.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startStack, type SeedOptions, type Stack } from './stack.js';

interface DemoSecrets {
  jwtSecret: string;
  adminPassword: string;
  customerPassword: string;
}

function loadSecrets(file: string): DemoSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoSecrets;
  const s: DemoSecrets = {
    jwtSecret: randomBytes(48).toString('base64url'),
    adminPassword: randomBytes(9).toString('base64url'),
    customerPassword: randomBytes(9).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(s, null, 2));
  chmodSync(file, 0o600);
  return s;
}

function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => h.update(b))
      .on('end', () => ok(h.digest('hex')))
      .on('error', fail);
  });
}

function port(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`${name} must be a port number from 1 to 65535 (got "${raw}")`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const dataDir = join(REPO_ROOT, '.data/demo');
  mkdirSync(dataDir, { recursive: true });
  const secrets = loadSecrets(join(dataDir, 'secrets.json'));
  const libvirtUri = process.env.LIBVIRT_URI || 'test:///default';
  const realGuests = libvirtUri.startsWith('qemu');
  const netns = process.env.OBLAKO_NETNS || 'oblako';
  const adminEmail = process.env.OBLAKO_ADMIN_EMAIL || 'admin@oblako.local';
  const adminPassword = process.env.OBLAKO_ADMIN_PASSWORD || secrets.adminPassword;

  const seed: SeedOptions = {
    adminEmail,
    adminPassword,
    customerEmail: 'demo@oblako.local',
    customerPassword: secrets.customerPassword,
    customerTenantName: 'Demo Hosting Customer',
  };
  if (realGuests) {
    const base = join(REPO_ROOT, '.data/guest-image/base.qcow2');
    if (!existsSync(base)) throw new Error(`The test guest image is missing (${base}): run bash tools/guest-image/build.sh`);
    seed.images = [
      { name: 'Oblako test guest', osFamily: 'busybox', version: '1', url: `file://${base}`, sha256: await sha256File(base), format: 'qcow2' },
    ];
  }

  const apiPort = port('PORT', 3000);
  const panelPort = port('PANEL_PORT', 4200);
  console.log('Starting Oblako...');
  let stack: Stack;
  try {
    stack = await startStack({
      dataDir,
      databaseUrl: process.env.DATABASE_URL || undefined,
      natsUrl: process.env.NATS_URL || undefined,
      subjectPrefix: process.env.NATS_SUBJECT_PREFIX || 'oblako',
      apiPort,
      panelPort,
      jwtSecret: secrets.jwtSecret,
      seed,
      libvirtUri,
      daemonEnv: realGuests ? { OBLAKO_NETNS: netns, DOMAIN_TYPE: process.env.DOMAIN_TYPE || 'qemu' } : {},
      apiEnv: {},
    });
  } catch (err) {
    console.error(`\nThe demo could not start: ${err instanceof Error ? err.message : String(err)}`);
    console.error(`Logs are in ${join(dataDir, 'logs')}.`);
    process.exit(1);
  }

  const db = stack.embeddedPostgres
    ? `embedded PostgreSQL (PGlite) on 127.0.0.1:${stack.embeddedPostgres.port}, data in .data/demo/pglite`
    : 'PostgreSQL from DATABASE_URL';
  const nats = stack.nats ? `nats-server on 127.0.0.1:${stack.nats.port} (JetStream, store in .data/demo/nats)` : 'NATS from NATS_URL';
  const lines = [
    '',
    '  Oblako is running.',
    '',
    `  Panel:      ${stack.panelUrl}`,
    `  API:        ${stack.apiUrl}   (OpenAPI: ${stack.apiUrl}/api/docs)`,
    `  Database:   ${db}`,
    `  NATS:       ${nats}`,
    `  Node:       one daemon on ${libvirtUri}${realGuests ? ` (network namespace "${netns}")` : ''}`,
    '',
    `  Staff admin:    ${adminEmail} / ${adminPassword}`,
    `  Demo customer:  ${stack.seed.customer.email} / ${stack.seed.customer.password}`,
    '',
    realGuests
      ? `  Servers you order boot real guests; reach one with: ip netns exec ${netns} ping <address>`
      : '  Servers run on libvirt\'s test driver (no real guests); LIBVIRT_URI=qemu:///system boots real ones.',
    `  Logs: ${join(dataDir, 'logs')}.  Press Ctrl-C to stop.`,
    '',
  ];
  console.log(lines.join('\n'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the daemon, the API, NATS and the database...`);
    await stack.stop();
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  void stack.api.exited.then((code) => {
    if (!stopping) {
      console.error(`The API stopped unexpectedly (code ${code}); see ${join(dataDir, 'logs/api.log')}`);
      void shutdown('API exit');
    }
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
