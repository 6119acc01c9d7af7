/**
 * Issue 13's proof on a real distribution: the Debian 12 image built here from Debian's packages
 * (tools/guest-image/build-debian.sh: real cloud-init, openssh-server, qemu-guest-agent, GRUB, a
 * growable ext4 root) ordered through the HTTP API with an SSH key, on the real node daemon (full
 * provisioning, QEMU in a network namespace with a private libvirtd). Checked over SSH as the
 * image's default user from inside the namespace: hostname, addresses and default routes (IPv4 and
 * IPv6), the root filesystem grown to the plan's disk, `cloud-init status` done without errors; a
 * rebuild keeps the addresses and gives new host keys; the graceful stop goes through ACPI (libvirt
 * logs the guest's own power-off, not a destroy). Measures order → SSH accepting the key against the
 * same image and the same seed (the daemon's own seed and domain XML builders) started by hand.
 *
 * Opt-in like the other real-guest tests (OBLAKO_REAL_GUEST=1; scripts/test.sh sets it). The image
 * is built on first use (about 3-4 minutes, then cached under .data/debian-image).
 * OBLAKO_REAL_GUEST_RUNS (default 1) = timed boots per variant, alternating hand and API.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { IpPoolView, PlanView, ServerView } from '@oblako/contracts';
import type { ApiClient, Stack } from '@oblako/devstack';
import { waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import {
  REPO,
  debianSkipReason,
  domainLog,
  ensureDebianImage,
  ensureGuestImage,
  inNetns,
  percentile,
  realGuestSkipReason,
  run,
  sshHostKeys,
  sshRun,
  SSH_CONNECT_TIMEOUT_S,
  startGuestStack,
  TEST_GUEST_NAME,
  tryRun,
  virsh,
  waitForSsh,
  newSshKeyPair,
  type DebianImage,
  type GuestStack,
  type Hypervisor,
  type SshTarget,
} from './support.js';

const skip = realGuestSkipReason() ?? debianSkipReason();
const RUNS = Math.max(1, Number(process.env.OBLAKO_REAL_GUEST_RUNS ?? '1') || 1);
const POOL4 = '198.51.100.0/24';
const GATEWAY = '198.51.100.1';
const POOL6 = '2001:db8:100::/64';
const GATEWAY6 = '2001:db8:100::1';
const DISK_GIB = 4;
const PASSWORD_1 = 'rebuild-chose-this-1';
const PASSWORD_2 = 'reset-through-the-agent-2';

/** What the daemon's builders look like (loaded from its compiled output at run time, so the hand start uses the very same seed and XML). */
interface DaemonBuilders {
  buildSeedFiles(spec: Record<string, unknown>, mac: string): Record<'meta-data' | 'user-data' | 'network-config', string>;
  buildDomainXml(input: Record<string, unknown>): string;
  macAddress(serverId: string): string;
}

interface ApiRun {
  orderToSshMs: number;
  controlPlaneMs: number;
  imageMs: number;
  overlayMs: number;
  defineStartMs: number;
  bootToSshMs: number;
  cloudInitDoneUptimeS: number;
}
interface HandRun {
  prepareMs: number;
  overlayMs: number;
  startToSshMs: number;
  totalMs: number;
  cloudInitDoneUptimeS: number;
}

describe('a real Debian 12 server ordered through the API', { skip: skip ?? false }, () => {
  let img: DebianImage & { tookMs: number };
  let rg: GuestStack;
  let hv: Hypervisor;
  let pool: pg.Pool;
  let stack: Stack;
  let customer: ApiClient;
  let admin: ApiClient;
  let plan: PlanView;
  let imageId: string;
  let locationId: string;
  let keyId: string;
  let guestImageId: string;
  let key: { keyFile: string; publicKey: string };
  let work: string;
  let builders: DaemonBuilders;
  const apiRuns: ApiRun[] = [];
  const handRuns: HandRun[] = [];
  let first: { server: ServerView; ssh: SshTarget; hostKeys: string[] } | undefined;

  before(async () => {
    img = await ensureDebianImage();
    console.log(
      `[debian] image ${img.image}: ${(img.imageBytes / 1024 / 1024).toFixed(0)} MiB qcow2, ${img.virtualSizeMiB} MiB virtual, ${img.cloudInit}, kernel ${img.kernelVersion}; ` +
        `built in ${img.buildSeconds} s (this run: ${(img.tookMs / 1000).toFixed(1)} s, cached when 0.x)`,
    );
    // The node also has the test guest's direct kernel: the Debian image (bootMode disk) must not use it.
    const guest = await ensureGuestImage();
    builders = (await import(pathToFileURL(join(REPO, 'apps/node-daemon/dist/src/index.js')).href)) as DaemonBuilders;
    work = mkdtempSync(join(tmpdir(), 'oblako-rg-debian-'));
    key = await newSshKeyPair(work, 'customer@laptop');
    rg = await startGuestStack({
      name: 'debian',
      img: guest,
      dataDir: join(work, 'stack'),
      adminEmail: 'admin@rg-debian.test',
      ipv4Cidr: POOL4,
      ipv4Gateway: GATEWAY,
      images: [
        { name: 'Debian 12', osFamily: 'debian', version: '12', url: `file://${img.image}`, sha256: img.imageSha256, format: 'qcow2', bootMode: 'disk', defaultUser: img.defaultUser, guestAgent: true },
        // wrongly said to have an agent: the busybox guest runs none, so the node's refusal is what the customer sees
        { name: TEST_GUEST_NAME, osFamily: 'busybox', version: '1', url: `file://${guest.image}`, sha256: guest.imageSha256, format: guest.imageFormat, bootMode: 'direct-kernel', guestAgent: true },
      ],
      daemonEnv: { STOP_GRACE_SECONDS: '120' },
      // the file outlives an access token on a loaded machine
      refreshOnExpiry: true,
      plan: { name: 'Debian test', vcpus: 1, memoryMiB: 768, diskGiB: DISK_GIB, cpuQuotaPercent: 100, diskIops: 0, diskMBps: 0, netMbit: 0, priceMonthlyCents: 100 },
      customers: [{ name: 'deb', company: 'Debian Test Ltd' }],
    });
    ({ hv, stack, admin, plan } = rg);
    customer = rg.customers[0]!.client;
    pool = new pg.Pool({ connectionString: rg.db.url, max: 2 });
    await admin.ok<IpPoolView>('POST', '/api/v1/admin/ip-pools', { locationId: stack.seed.locationId, cidr: POOL6, gateway: GATEWAY6 });
    const images = await customer.ok<{ id: string; name: string; defaultUser: string | null; bootMode: string | null }[]>('GET', '/api/v1/images');
    const debian = images.find((i) => i.name === 'Debian 12')!;
    assert.equal(debian.defaultUser, 'debian', 'the catalogue tells the customer which user to log in as');
    assert.equal(debian.bootMode, 'disk');
    imageId = debian.id;
    guestImageId = images.find((i) => i.name === 'Oblako test guest')!.id;
    locationId = (await customer.ok<{ id: string }[]>('GET', '/api/v1/locations'))[0]!.id;
    keyId = (await customer.ok<{ id: string }>('POST', '/api/v1/ssh-keys', { name: 'laptop', publicKey: key.publicKey })).id;
  });

  after(async () => {
    const p = (xs: number[]) => percentile(xs, 50);
    if (apiRuns.length) {
      console.log(
        `[debian] through the API, ${apiRuns.length} run(s), p50: order → SSH accepting the key ${p(apiRuns.map((r) => r.orderToSshMs))} ms = ` +
          `control plane ${p(apiRuns.map((r) => r.controlPlaneMs))} ms + image fetch ${p(apiRuns.map((r) => r.imageMs))} ms (first order on the node only) + ` +
          `overlay ${p(apiRuns.map((r) => r.overlayMs))} ms + libvirt define+start ${p(apiRuns.map((r) => r.defineStartMs))} ms + ` +
          `boot → SSH ${p(apiRuns.map((r) => r.bootToSshMs))} ms; cloud-init done at guest uptime ${p(apiRuns.map((r) => r.cloudInitDoneUptimeS))} s`,
      );
    }
    if (handRuns.length) {
      const hand = p(handRuns.map((r) => r.totalMs));
      console.log(
        `[debian] by hand, ${handRuns.length} run(s), p50: overlay + seed + tap ${p(handRuns.map((r) => r.prepareMs))} ms (overlay ${p(handRuns.map((r) => r.overlayMs))} ms), ` +
          `virsh start → SSH ${p(handRuns.map((r) => r.startToSshMs))} ms, total ${hand} ms; cloud-init done at guest uptime ${p(handRuns.map((r) => r.cloudInitDoneUptimeS))} s`,
      );
      if (apiRuns.length) console.log(`[debian] order → SSH through the API = ${(p(apiRuns.map((r) => r.orderToSshMs)) / hand).toFixed(2)}× the hand start (target ≤ 1.2×)`);
    }
    await pool?.end().catch(() => undefined);
    await rg?.close(['oblako-', 'rg-deb-hand-']);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Order through the API, wait for SSH to accept the key as the image's default user; timings from the task row. */
  async function order(hostname: string): Promise<{ server: ServerView; ssh: SshTarget }> {
    const t0 = Date.now();
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId, locationId, hostname, sshKeyIds: [keyId] });
    const server = await waitForState(customer, created.id, 'running', 300_000);
    const ssh: SshTarget = { netns: hv.netns, address: server.addresses.find((a) => a.family === 4)!.address, user: 'debian', keyFile: key.keyFile };
    await waitForSsh(ssh, 600_000);
    const sshAt = Date.now();
    const { rows } = await pool.query<{ timings: { acceptedAt: number; hypervisorStartedAt: number; hypervisorDoneAt: number; steps?: Record<string, number> } }>(
      `SELECT timings FROM tasks WHERE server_id = $1 AND op = 'create'`, [server.id]);
    const t = rows[0]!.timings;
    const steps = t.steps ?? {};
    const imageMs = Math.round(steps.image ?? 0);
    const overlayMs = Math.round(steps.disk ?? 0);
    const defineStartMs = Math.round((steps.define ?? 0) + (steps.start ?? 0));
    apiRuns.push({
      orderToSshMs: sshAt - t0,
      // API, outbox, JetStream, the daemon's pick-up, lookup and its seed/tap work (beside the disk): all but disk and libvirt
      controlPlaneMs: Math.round(t.hypervisorDoneAt - t0 - imageMs - overlayMs - defineStartMs),
      imageMs,
      overlayMs,
      defineStartMs,
      bootToSshMs: Math.round(sshAt - t.hypervisorDoneAt),
      cloudInitDoneUptimeS: await cloudInitDoneUptime(ssh),
    });
    return { server, ssh };
  }

  test('ordered with an SSH key: logs in as the default user; hostname, addresses, routes, grown root, cloud-init done', async () => {
    const { server, ssh } = await order('deb-one.example.test');
    assert.equal((await sshRun(ssh, 'hostname')).trim(), 'deb-one', 'the hostname is the one ordered');
    assert.equal((await sshRun(ssh, 'whoami')).trim(), 'debian');
    assert.match(await sshRun(ssh, 'cat ~/.ssh/authorized_keys'), new RegExp(key.publicKey.split(' ')[1]!.replace(/[+/]/g, '\\$&')), "the order's key is the default user's");

    const v4 = server.addresses.find((a) => a.family === 4)!;
    const v6 = server.addresses.find((a) => a.family === 6);
    assert.ok(v6, `the server got an IPv6 address too (${JSON.stringify(server.addresses)})`);
    const addrs = JSON.parse(await sshRun(ssh, 'ip -j addr show dev eth0')) as { addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }[];
    const global = addrs[0]!.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`).sort();
    assert.deepEqual(global, [`${v4.address}/32`, `${v6.address}/128`].sort(), 'eth0 has exactly the assigned addresses');
    const route4 = JSON.parse(await sshRun(ssh, 'ip -j -4 route show default')) as { gateway: string; dev: string }[];
    assert.deepEqual(route4.map((r) => [r.gateway, r.dev]), [[GATEWAY, 'eth0']], 'the IPv4 default route is via the assigned gateway');
    const route6 = JSON.parse(await sshRun(ssh, 'ip -j -6 route show default')) as { gateway: string; dev: string }[];
    assert.deepEqual(route6.map((r) => [r.gateway, r.dev]), [[GATEWAY6, 'eth0']], 'the IPv6 default route is via the assigned gateway');
    // and the guest really is reachable on both, from the hypervisor side
    // (retried: on a loaded machine the IPv6 address may still be in duplicate address detection when SSH over IPv4 already answers)
    await waitFor(`sshd answering on ${v6.address}`, async () => (await tryRun('ip', ['netns', 'exec', hv.netns, 'ssh-keyscan', '-T', String(SSH_CONNECT_TIMEOUT_S), v6.address], (SSH_CONNECT_TIMEOUT_S + 30) * 1000)).stdout.includes('ssh-') || undefined, { timeoutMs: 300_000, intervalMs: 1000 });

    const diskBytes = DISK_GIB * 1024 ** 3;
    assert.equal(Number((await sshRun(ssh, 'lsblk -bdno SIZE /dev/vda')).trim()), diskBytes, "the disk is the plan's size");
    const part = Number((await sshRun(ssh, 'lsblk -bdno SIZE /dev/vda1')).trim());
    assert.ok(part >= diskBytes - 2 * 1024 ** 2, `growpart grew the root partition to the disk (${part} of ${diskBytes} bytes)`);
    const [blocks, bsize] = (await sshRun(ssh, "stat -f -c '%b %S' /")).trim().split(' ').map(Number);
    const fsBytes = blocks! * bsize!;
    assert.ok(fsBytes > 0.93 * diskBytes && fsBytes > img.virtualSizeMiB * 1024 ** 2 * 1.5, `the root filesystem was grown (${fsBytes} bytes on a ${diskBytes}-byte disk; the image is ${img.virtualSizeMiB} MiB)`);

    await assertCloudInitDone(ssh);
    assert.equal((await sshRun(ssh, 'systemctl is-active qemu-guest-agent')).trim(), 'active', 'qemu-guest-agent runs on its virtio-serial port');
    // booted by its own bootloader, not the node's direct kernel (which the node has, for the test guest)
    assert.match(await sshRun(ssh, 'cat /proc/cmdline'), /BOOT_IMAGE=\/boot\/vmlinuz-\S+-cloud-amd64 root=UUID=/);
    first = { server, ssh, hostKeys: await sshHostKeys(hv.netns, ssh.address) };
    assert.ok(first.hostKeys.some((k) => k.startsWith('ssh-ed25519 ')), 'sshd has an ed25519 host key');
  });

  test('a rebuild to the same image keeps the addresses and gives new host keys', async (t) => {
    if (!first) return t.skip('needs the first server');
    const { server, ssh, hostKeys } = first;
    // the customer chooses a root password this time (the key stays)
    const r = await customer.call('POST', `/api/v1/servers/${server.id}/actions`, { action: 'rebuild', imageId, rootPassword: PASSWORD_1 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const rebuilt = await waitForState(customer, server.id, 'running', 300_000);
    assert.deepEqual(rebuilt.addresses.map((a) => a.address).sort(), server.addresses.map((a) => a.address).sort(), 'the rebuild keeps the addresses');
    await waitForSsh(ssh, 600_000);
    const after = await sshHostKeys(hv.netns, ssh.address);
    assert.equal(after.filter((k) => hostKeys.includes(k)).length, 0, 'every host key is new');
    assert.equal((await sshRun(ssh, 'hostname')).trim(), 'deb-one');
    await assertCloudInitDone(ssh);
    first = { server, ssh, hostKeys: after };

    // the password hash is set: /etc/shadow holds exactly the hash the API made, and the password logs in over SSH
    const { rows } = await pool.query<{ h: string }>('SELECT root_password_hash AS h FROM servers WHERE id = $1', [server.id]);
    const hash = rows[0]!.h;
    assert.match(hash, /^\$6\$/);
    assert.equal(await shadowHash(ssh, 'root'), hash, "root's shadow entry is the API's hash");
    assert.equal(await sshPassword(hv.netns, ssh.address, 'root', PASSWORD_1, work), 'root', 'root logs in over SSH with the password');
    assert.equal(await sshPassword(hv.netns, ssh.address, 'root', 'not-the-password', work), null, 'a wrong password does not');
  });

  test('"Reset root password" goes through the guest agent on a running server: new shadow hash, the new password logs in, the old one no longer', async (t) => {
    if (!first) return t.skip('needs the first server');
    const { server, ssh } = first;
    const before = await shadowHash(ssh, 'root');
    const bootId = (await sshRun(ssh, 'cat /proc/sys/kernel/random/boot_id')).trim();
    const t0 = Date.now();
    const r = await customer.call<ServerView>('POST', `/api/v1/servers/${server.id}/actions`, { action: 'reset_password', rootPassword: PASSWORD_2 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.state, 'running');
    const task = await waitFor('the reset task', async () => {
      const { rows } = await pool.query<{ state: string; error: string | null }>(`SELECT state, error FROM tasks WHERE server_id = $1 AND op = 'reset_password'`, [server.id]);
      return rows[0] && ['succeeded', 'failed'].includes(rows[0].state) ? rows[0] : undefined;
    }, { timeoutMs: 120_000, intervalMs: 100 });
    assert.equal(task.state, 'succeeded', task.error ?? '');
    console.log(`[debian] reset_password through the guest agent took ${Date.now() - t0} ms`);
    const { rows } = await pool.query<{ h: string }>('SELECT root_password_hash AS h FROM servers WHERE id = $1', [server.id]);
    const after = await shadowHash(ssh, 'root');
    assert.notEqual(after, before, 'the shadow hash changed');
    assert.equal(after, rows[0]!.h, 'to the hash the API made of the new password');
    assert.equal(await sshPassword(hv.netns, ssh.address, 'root', PASSWORD_2, work), 'root', 'the new password logs in');
    assert.equal(await sshPassword(hv.netns, ssh.address, 'root', PASSWORD_1, work), null, 'the old one no longer does');
    assert.equal((await sshRun(ssh, 'cat /proc/sys/kernel/random/boot_id')).trim(), bootId, 'the guest did not restart');
  });

  test('the busybox test guest has no agent: a password reset fails with a clear reason and its stop falls back to ACPI', async () => {
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId: guestImageId, locationId, hostname: 'no-agent.example.test', sshKeyIds: [keyId] });
    await waitForState(customer, created.id, 'running', 300_000);
    const r = await customer.call('POST', `/api/v1/servers/${created.id}/actions`, { action: 'reset_password', rootPassword: PASSWORD_2 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const task = await waitFor('the reset task', async () => {
      const { rows } = await pool.query<{ state: string; error: string | null }>(`SELECT state, error FROM tasks WHERE server_id = $1 AND op = 'reset_password'`, [created.id]);
      return rows[0] && ['succeeded', 'failed'].includes(rows[0].state) ? rows[0] : undefined;
    }, { timeoutMs: 120_000, intervalMs: 100 });
    assert.equal(task.state, 'failed');
    assert.match(task.error ?? '', /^agent_unavailable: no guest agent answers/);
    assert.equal((await waitForState(customer, created.id, 'running', 60_000)).state, 'running', 'the server keeps running');
    const s = await customer.call('POST', `/api/v1/servers/${created.id}/actions`, { action: 'stop' });
    assert.equal(s.status, 202, JSON.stringify(s.body));
    await waitForState(customer, created.id, 'stopped', 300_000);
    const steps = await stopSteps(created.id);
    // ACPI, destroyed after the grace when the guest (still booting on a loaded machine) does not act on it
    assert.ok(!steps.includes('stop_via_agent') && (steps.includes('stop_via_acpi') || steps.includes('stop_via_destroyed')), `no agent answered the ping: ACPI (the stop's steps: ${steps.join(', ')})`);
    await customer.call('DELETE', `/api/v1/servers/${created.id}`);
  });

  /** The step names of the server's last stop task once it finished (the state may say `stopped` before the result is in). */
  async function stopSteps(serverId: string): Promise<string[]> {
    const row = await waitFor('the stop task to finish', async () => {
      const { rows } = await pool.query<{ state: string; timings: { steps?: Record<string, number> } }>(
        `SELECT state, timings FROM tasks WHERE server_id = $1 AND op = 'stop' ORDER BY created_at DESC LIMIT 1`, [serverId]);
      return rows[0] && ['succeeded', 'failed'].includes(rows[0].state) ? rows[0] : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    return Object.keys(row.timings.steps ?? {});
  }

  test('the graceful stop powers the guest off through its guest agent, not by destroying it; it starts again as it was', async (t) => {
    if (!first) return t.skip('needs the first server');
    const { server, ssh, hostKeys } = first;
    const domain = `oblako-${server.id}`;
    const before = (domainLog(hv, domain).match(/shutting down, reason=\w+/g) ?? []).length;
    const t0 = Date.now();
    const r = await customer.call('POST', `/api/v1/servers/${server.id}/actions`, { action: 'stop' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitForState(customer, server.id, 'stopped', 300_000);
    const stopMs = Date.now() - t0;
    assert.equal((await virsh(hv.uri, ['domstate', domain])).trim(), 'shut off');
    const reasons = domainLog(hv, domain).match(/shutting down, reason=\w+/g) ?? [];
    assert.equal(reasons.length, before + 1, 'libvirt logged one more power-off');
    assert.equal(reasons.at(-1), 'shutting down, reason=shutdown', 'the guest shut itself down, it was not destroyed');
    const steps = await stopSteps(server.id);
    assert.ok(steps.includes('stop_via_agent'), `the agent answered the ping and took the shutdown (the stop's steps: ${steps.join(', ')})`);
    console.log(`[debian] graceful stop (guest agent) took ${stopMs} ms`);

    const s = await customer.call('POST', `/api/v1/servers/${server.id}/actions`, { action: 'start' });
    assert.equal(s.status, 202, JSON.stringify(s.body));
    await waitForState(customer, server.id, 'running', 300_000);
    await waitForSsh(ssh, 600_000);
    assert.deepEqual(await sshHostKeys(hv.netns, ssh.address), hostKeys, 'a restart is not a new instance: same host keys');
    await assertCloudInitDone(ssh);
  });

  test('order → SSH accepting the key, against the same image and seed started by hand', async () => {
    // alternate hand and API boots so both see the same load; the first API run is the test above's
    for (let i = 0; i < RUNS; i++) {
      handRuns.push(await bootByHand(i));
      if (i + 1 < RUNS || apiRuns.length === 0) {
        const { server } = await order(`deb-run${i}.example.test`);
        const d = await customer.call('DELETE', `/api/v1/servers/${server.id}`);
        assert.ok(d.status === 202 || d.status === 204, `delete answered ${d.status}`);
        await waitFor(`server ${server.id} deleted`, async () => {
          const g = await customer.call<ServerView>('GET', `/api/v1/servers/${server.id}`);
          return g.status === 404 || g.body.state === 'deleted';
        }, { timeoutMs: 180_000, intervalMs: 250 });
      }
    }
    assert.ok(handRuns.length >= 1 && apiRuns.length >= 1);
  });

  async function bootByHand(i: number): Promise<HandRun> {
    const ns = hv.netns;
    const serverId = randomUUID();
    const name = `rg-deb-hand-${i}`;
    const tap = `obdh${i}${randomUUID().slice(0, 6)}`;
    const address = `198.51.100.${200 + i}`;
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    const mac = builders.macAddress(serverId);
    const t0 = Date.now();
    try {
      const disk = join(dir, 'disk.qcow2');
      const tOverlay = Date.now();
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', img.image, '-F', 'qcow2', disk, `${DISK_GIB}G`]);
      const overlayMs = Date.now() - tOverlay;
      const files = builders.buildSeedFiles({ serverId, hostname: `hand-${i}.example.test`, sshKeys: [key.publicKey], addresses: [{ family: 4, address, prefix: 32, gateway: GATEWAY }] }, mac);
      for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
      const seed = join(dir, 'seed.iso');
      await run('genisoimage', ['-quiet', '-output', seed, '-volid', 'cidata', '-joliet', '-rock', ...Object.keys(files).map((f) => join(dir, f))]);
      await run('ip', ['-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      await inNetns(ns, 'sysctl', ['-qw', `net.ipv4.conf.${tap}.rp_filter=1`, `net.ipv4.conf.${tap}.proxy_arp=1`]);
      await run('ip', ['-n', ns, 'link', 'set', tap, 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${GATEWAY}/32`, 'dev', tap]);
      await run('ip', ['-n', ns, 'route', 'add', `${address}/32`, 'dev', tap]);
      const xml = builders
        .buildDomainXml({ type: 'qemu', serverId, hostname: name, vcpus: 1, memoryMiB: plan.memoryMiB, cpuQuotaPercent: 100, disk: { path: disk, format: 'qcow2', totalIopsSec: 0, totalBytesSec: 0 }, seedPath: seed, tap, guestAgent: true })
        .replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`);
      writeFileSync(join(dir, 'domain.xml'), xml);
      const prepareMs = Date.now() - t0;
      await virsh(hv.uri, ['define', join(dir, 'domain.xml')]);
      const tStart = Date.now();
      await virsh(hv.uri, ['start', name]);
      const ssh: SshTarget = { netns: ns, address, user: 'debian', keyFile: key.keyFile };
      await waitForSsh(ssh, 600_000);
      const done = Date.now();
      assert.equal((await sshRun(ssh, 'hostname')).trim(), `hand-${i}`);
      return { prepareMs, overlayMs, startToSshMs: done - tStart, totalMs: done - t0, cloudInitDoneUptimeS: await cloudInitDoneUptime(ssh) };
    } finally {
      await tryRun('virsh', ['-q', '-c', hv.uri, 'destroy', name]);
      await tryRun('virsh', ['-q', '-c', hv.uri, 'undefine', name]);
      await tryRun('ip', ['-n', ns, 'link', 'del', tap]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

/** The user's /etc/shadow hash, read over SSH as the default user with sudo. */
async function shadowHash(ssh: SshTarget, user: string): Promise<string> {
  const line = (await sshRun(ssh, `sudo -n grep '^${user}:' /etc/shadow`)).trim();
  return line.split(':')[1] ?? '';
}

/**
 * Log in with a password over SSH (no key offered) from inside the namespace; returns `whoami`'s answer, or null
 * when the login is refused. OpenSSH's askpass (SSH_ASKPASS_REQUIRE=force) types the password: no sshpass needed.
 */
async function sshPassword(netns: string, address: string, user: string, password: string, dir: string): Promise<string | null> {
  const askpass = join(dir, `askpass-${randomUUID().slice(0, 8)}`);
  writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${password}'\n`, { mode: 0o700 });
  try {
    const r = await run('ip', [
      'netns', 'exec', netns, 'ssh', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`, `${user}@${address}`, '--', 'whoami',
    ], { timeoutMs: (SSH_CONNECT_TIMEOUT_S + 30) * 1000, env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } }).catch(() => null);
    return r ? r.stdout.trim() : null;
  } finally {
    rmSync(askpass, { force: true });
  }
}

/** `cloud-init status --wait` is done, with no errors in its result and no warnings in its log. */
async function assertCloudInitDone(ssh: SshTarget): Promise<void> {
  const status = await sshRun(ssh, 'cloud-init status --wait --long', 600_000);
  assert.match(status, /^status: done$/m, status);
  const result = JSON.parse(await sshRun(ssh, 'cat /run/cloud-init/result.json')) as { v1: { datasource: string; errors: unknown[] } };
  assert.deepEqual(result.v1.errors, [], `cloud-init reported errors: ${JSON.stringify(result.v1.errors)}`);
  assert.match(result.v1.datasource, /NoCloud/);
  const warnings = (await sshRun(ssh, "grep -E '\\[(WARNING|ERROR|CRITICAL)\\]' /var/log/cloud-init.log || true")).trim();
  assert.equal(warnings, '', 'cloud-init logged no warnings or errors');
}

/** The guest's uptime (s) when cloud-init's final stage finished ("Up N seconds" in cloud-init-output.log). */
async function cloudInitDoneUptime(ssh: SshTarget): Promise<number> {
  await sshRun(ssh, 'cloud-init status --wait >/dev/null', 600_000);
  const out = await sshRun(ssh, "grep -E 'finished at .* Up [0-9.]+ seconds' /var/log/cloud-init-output.log | tail -n 1");
  return Number(/Up ([0-9.]+) seconds/.exec(out)?.[1] ?? NaN);
}
