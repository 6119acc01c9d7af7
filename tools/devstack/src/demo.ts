/**
 * The demo launcher behind scripts/demo.sh: embedded defaults, demo data, the panel's URL and
 * the logins printed, everything stopped cleanly on Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, networkInterfaces, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startStack, type SeedOptions, type Stack } from './stack.js';
import { sha256File, testDriverImages } from './test-images.js';

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



/** What tools/guest-image/build.sh writes to .data/guest-image/manifest.json (the parts the demo uses). */
interface GuestImageManifest {
  kernel: string;
  initrd: string;
  cmdline: string;
  image: string;
  imageFormat: 'qcow2' | 'raw';
  imageSha256: string;
}

/** The Debian image's manifest (tools/guest-image/build-debian.sh), or null when it has not been built. */
function loadDebianImage(dir: string): { image: string; imageSha256: string; defaultUser: string } | null {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return null;
  const m = JSON.parse(readFileSync(file, 'utf8')) as { image?: string; imageSha256?: string; defaultUser?: string };
  if (!m.image || !m.imageSha256 || !existsSync(m.image)) return null;
  return { image: m.image, imageSha256: m.imageSha256, defaultUser: m.defaultUser ?? 'debian' };
}

function loadGuestImage(dir: string): GuestImageManifest {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) throw new Error(`The test guest image is missing (${file}): run bash tools/guest-image/build.sh`);
  const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<GuestImageManifest>;
  for (const key of ['kernel', 'initrd', 'image', 'imageSha256'] as const) {
    if (typeof m[key] !== 'string' || !m[key]) throw new Error(`${file} has no "${key}": run bash tools/guest-image/build.sh again`);
  }
  for (const path of [m.kernel!, m.initrd!, m.image!]) {
    if (!existsSync(path)) throw new Error(`${path} (named in ${file}) is missing: run bash tools/guest-image/build.sh again`);
  }
  return { kernel: m.kernel!, initrd: m.initrd!, cmdline: m.cmdline ?? 'console=ttyS0 quiet', image: m.image!, imageFormat: m.imageFormat ?? 'qcow2', imageSha256: m.imageSha256! };
}

/**
 * The demo node's capacity on real guests: this machine's CPUs (overcommitted 4×, as on the
 * default node), its memory less 2 GiB for the host, and four times the free disk: a server's disk
 * is a thin qcow2 overlay that the test guest never writes to, so counting the plan's full size
 * against the free space would stop the demo at three small servers on a 80 GB disk.
 */
function hostCapacity(dir: string): NonNullable<SeedOptions['node']> {
  const st = statfsSync(dir);
  return {
    vcpus: Math.max(1, cpus().length),
    memoryMiB: Math.max(1024, Math.floor(totalmem() / 1048576) - 2048),
    diskGiB: Math.max(1, Math.floor((4 * st.bavail * st.bsize) / 1073741824)),
    cpuOvercommit: 4,
    memoryOvercommit: 1,
  };
}

/**
 * The demo's IPv4 pool on real guests: a documentation block (never routed) that none of this
 * host's interfaces uses, so that an address in the namespace is never also one of the host's
 * (these machines' own uplink sits in 192.0.2.0/24, the test driver demo's pool).
 */
function guestPool(): { ipv4Cidr: string; ipv4Gateway: string } {
  const used = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a?.family === 'IPv4')
    .map((a) => a!.address.split('.').slice(0, 3).join('.'));
  const prefix = ['198.51.100', '203.0.113', '192.0.2'].find((p) => !used.includes(p)) ?? '198.51.100';
  return { ipv4Cidr: `${prefix}.0/24`, ipv4Gateway: `${prefix}.1` };
}

const execFileP = promisify(execFile);

/**
 * Power off the guests this demo's node daemon started (the domains of the servers it keeps a
 * record of in <node data>/servers/), while the daemon still runs, so that it reports them as
 * shut off. Their definitions, disks and addresses stay: the next demo starts them again on request.
 */
async function destroyDemoGuests(libvirtUri: string, nodeDataDir: string): Promise<string[]> {
  const dir = join(nodeDataDir, 'servers');
  const ids = existsSync(dir) ? readdirSync(dir).filter((f) => /^[0-9a-f-]{36}\.json$/.test(f)).map((f) => f.slice(0, -5)) : [];
  const destroyed: string[] = [];
  await Promise.all(
    ids.map(async (id) => {
      const name = `oblako-${id}`;
      const state = await execFileP('virsh', ['-c', libvirtUri, 'domstate', name], { timeout: 10_000 }).then((r) => r.stdout.trim(), () => 'missing');
      if (state !== 'running' && state !== 'paused' && state !== 'in shutdown') return;
      try {
        await execFileP('virsh', ['-c', libvirtUri, 'destroy', name], { timeout: 30_000 });
        destroyed.push(name);
      } catch (err) {
        console.error(`  could not power off ${name}: ${err instanceof Error ? err.message.trim() : String(err)}`);
      }
    }),
  );
  return destroyed;
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
  const libvirtUri = process.env.LIBVIRT_URI || 'test:///default';
  const realGuests = libvirtUri.startsWith('qemu');
  const secretsDir = join(REPO_ROOT, '.data/demo');
  mkdirSync(secretsDir, { recursive: true });
  const secrets = loadSecrets(join(secretsDir, 'secrets.json'));
  // Real guests get a database and node of their own: the test driver's servers never existed on
  // this host, and the seed sets the node's capacity only when it creates the node.
  const dataDir = realGuests ? join(REPO_ROOT, '.data/demo-qemu') : secretsDir;
  mkdirSync(dataDir, { recursive: true });
  const shown = relative(REPO_ROOT, dataDir);
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
  let daemonEnv: NodeJS.ProcessEnv = {};
  if (!realGuests) seed.images = await testDriverImages(join(dataDir, 'images'));
  if (realGuests) {
    // where tools/guest-image/build.sh (run by scripts/demo.sh) put it
    const guest = loadGuestImage(process.env.OBLAKO_GUEST_IMAGE_DIR || join(REPO_ROOT, '.data/guest-image'));
    const sha256 = await sha256File(guest.image);
    if (sha256 !== guest.imageSha256) throw new Error(`${guest.image} does not match its manifest (sha256 ${sha256}): run bash tools/guest-image/build.sh again`);
    seed.images = [
      { name: 'Oblako test guest', osFamily: 'busybox', version: '1', url: `file://${guest.image}`, sha256, format: guest.imageFormat, bootMode: 'direct-kernel' },
    ];
    // the real Debian 12 image, when tools/guest-image/build-debian.sh has built it (its own bootloader, real cloud-init)
    const debian = loadDebianImage(process.env.OBLAKO_DEBIAN_IMAGE_DIR || join(REPO_ROOT, '.data/debian-image'));
    if (debian) {
      seed.images.push({ name: 'Debian 12', osFamily: 'debian', version: '12', url: `file://${debian.image}`, sha256: debian.imageSha256, format: 'qcow2', bootMode: 'disk', defaultUser: debian.defaultUser, guestAgent: true });
    } else {
      console.log('Debian 12 is not offered: build it first with tools/guest-image/build-debian.sh (about 4 minutes, as root).');
    }
    seed.node = hostCapacity(dataDir);
    Object.assign(seed, guestPool());
    daemonEnv = {
      OBLAKO_NETNS: netns,
      DOMAIN_TYPE: process.env.DOMAIN_TYPE || 'qemu',
      // the test guest is a kernel + initramfs; its base disk has no boot loader
      OBLAKO_DIRECT_KERNEL: guest.kernel,
      OBLAKO_DIRECT_INITRD: guest.initrd,
      OBLAKO_DIRECT_CMDLINE: guest.cmdline,
    };
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
      daemonEnv,
      // a person orders here: an SSH key, a root password or both (the test stacks turn the rule off)
      apiEnv: { ORDER_REQUIRES_LOGIN: 'true', REQUIRE_VERIFIED_IMAGES: 'true' },
      // A crashed child comes back with backoff instead of taking the stack (and its database) down.
      supervise: (message) => console.log(`[demo] ${message}`),
    });
  } catch (err) {
    console.error(`\nThe demo could not start: ${err instanceof Error ? err.message : String(err)}`);
    console.error(`Logs are in ${join(dataDir, 'logs')}.`);
    process.exit(1);
  }

  const db = stack.embeddedPostgres
    ? `embedded PostgreSQL (PGlite) on 127.0.0.1:${stack.embeddedPostgres.port}, data in ${shown}/pglite`
    : 'PostgreSQL from DATABASE_URL';
  const nats = stack.nats ? `nats-server on 127.0.0.1:${stack.nats.port} (JetStream, store in ${shown}/nats)` : 'NATS from NATS_URL';
  const lines = [
    '',
    '  Oblako is running.',
    '',
    `  Panel:      ${stack.panelUrl}`,
    `  API:        ${stack.apiUrl}   (OpenAPI: ${stack.apiUrl}/api/docs)`,
    `  Database:   ${db}`,
    `  NATS:       ${nats}`,
    `  Mail:       every mail the API sends (verification, reset, invitations, notifications) lands in a`,
    `              local SMTP catcher (port ${stack.mail?.smtpPort}); read them at ${stack.mail?.url}`,
    `  Node:       one daemon on ${libvirtUri}${realGuests ? ` (network namespace "${netns}")` : ''}`,
    `  Metrics:    curl -H 'Authorization: Bearer ${stack.metricsToken}' ${stack.apiUrl}/metrics`,
    `              the node daemon's: curl ${stack.daemonMetricsUrl(stack.seed.nodeId) ?? '(off)'}   (docs/metrics.md)`,
    '',
    `  Staff admin:    ${adminEmail} / ${adminPassword}`,
    `  Demo customer:  ${stack.seed.customer.email} / ${stack.seed.customer.password}`,
    '',
    ...(realGuests
      ? [
          `  Servers you order boot real guests (the "Oblako test guest" image) with addresses from`,
          `  ${seed.ipv4Cidr}, routed only inside the network namespace "${netns}". Reach one with:`,
          `    ip netns exec ${netns} ping <address>`,
          `    ip netns exec ${netns} curl http://<address>/hostname`,
        ]
      : ['  Servers run on libvirt\'s test driver (no real guests); LIBVIRT_URI=qemu:///system boots real ones.']),
    `  Logs: ${join(dataDir, 'logs')}.  Press Ctrl-C to stop.`,
    '',
  ];
  console.log(lines.join('\n'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the daemon, the API, NATS and the database...`);
    const t0 = performance.now();
    const secs = () => ((performance.now() - t0) / 1000).toFixed(1);
    if (realGuests) {
      const off = await destroyDemoGuests(libvirtUri, stack.dataDirOf(stack.seed.nodeId));
      if (off.length) console.log(`  powered off ${off.length} guest(s) in ${secs()} s: ${off.join(', ')} (disks and addresses kept; start them again from the panel)`);
    }
    await stack.stop();
    console.log(`Stopped (${secs()} s).`);
    if (realGuests) {
      console.log(`libvirtd keeps running in network namespace "${netns}" (a second demo start reuses it).`);
      console.log(`To remove it: bash tools/hypervisor/netns-libvirtd.sh delete ${netns}`);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
