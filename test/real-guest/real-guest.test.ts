/**
 * Real guests (opt-in: OBLAKO_REAL_GUEST=1, as root). In a network namespace of its own with a
 * private libvirtd inside it (tools/hypervisor/netns-libvirtd.sh):
 *
 * 1. "by hand": the test guest started the way tools/hypervisor/smoke.sh does it — the floor the
 *    daemon is compared with (order → guest answering within 1.5× of this, issue 3);
 * 2. "through the daemon": the real node daemon (separate process, OBLAKO_PROVISIONING=full) gets a
 *    create command over NATS; the guest must answer ping and HTTP on its address with the hostname
 *    it was given, the limits must be where the kernel enforces them, spoofing must fail, and
 *    stop/start/delete must do what they say and leave nothing behind.
 *
 * Timing: OBLAKO_REAL_GUEST_RUNS (default 1) boots per variant, hand and daemon boots alternating;
 * p50s are printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { subjects as makeSubjects, WIRE_VERSION, type NodeCommandInput, type ServerSpec } from '@oblako/contracts';
import { TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor } from '@oblako/testing';
import {
  REPO,
  destroyDomains,
  ensureGuestImage,
  expectedTapName,
  guestGet,
  guestRead,
  guestWrite,
  guestInboundRate,
  guestOutboundRate,
  htbRates,
  ingressPoliceRates,
  ingressRedirect,
  inNetns,
  liveIotune,
  percentile,
  pingFromGuest,
  pingOnce,
  realGuestSkipReason,
  run,
  startHypervisor,
  tryRun,
  vcpuQuota,
  virsh,
  waitForGuestHttp,
  waitForPing,
  type GuestImage,
  type Hypervisor,
} from './support.js';

const DAEMON_MAIN = join(REPO, 'apps/node-daemon/dist/src/main.js');

function daemonSkipReason(): string | null {
  if (!existsSync(DAEMON_MAIN)) return `node daemon not built (${DAEMON_MAIN})`;
  if (process.env.OBLAKO_REAL_GUEST_DAEMON === '0') return 'OBLAKO_REAL_GUEST_DAEMON=0';
  return null;
}

const skip = realGuestSkipReason();
const RUNS = Math.max(1, Number(process.env.OBLAKO_REAL_GUEST_RUNS ?? '1') || 1);
const GW = '169.254.0.1';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOblakoRealGuestTestKeyxxxxxxxxxxxxxxxxxxxx rg@oblako';
const ROOT_HASH = '$6$oblakorg$Qm1cQ1F3b0J6bG9oZ2J5b2x0a3Y4cXJ3eHl6MDEyMzQ1Njc4OUFCQ0RFRkdISUpLTE1OT1A';

interface Timing {
  startMs: number;
  pingMs: number;
  httpMs: number;
}

const hand: Timing[] = [];
const viaDaemon: { runningMs: number; answeringMs: number }[] = [];

describe('real guest', { skip: skip ?? false }, () => {
  let hv: Hypervisor;
  let img: GuestImage;
  let work: string;

  before(async () => {
    img = await ensureGuestImage();
    hv = await startHypervisor();
    work = mkdtempSync(join(tmpdir(), 'oblako-rg-'));
  });

  after(async () => {
    if (hv) {
      await destroyDomains(hv.uri, 'oblako-').catch(() => undefined);
      await destroyDomains(hv.uri, 'rg-hand-').catch(() => undefined);
      await hv.close().catch((err) => console.error(`could not clean up ${hv.netns}: ${(err as Error).message}`));
    }
    if (work) rmSync(work, { recursive: true, force: true });
    if (hand.length) {
      console.log(
        `[real-guest] by hand, ${hand.length} run(s): virsh start p50 ${percentile(hand.map((t) => t.startMs), 50)} ms, ` +
          `start→ping p50 ${percentile(hand.map((t) => t.pingMs), 50)} ms, start→HTTP p50 ${percentile(hand.map((t) => t.httpMs), 50)} ms`,
      );
    }
    if (viaDaemon.length) {
      const h = percentile(hand.map((t) => t.httpMs), 50);
      const d = percentile(viaDaemon.map((t) => t.answeringMs), 50);
      console.log(
        `[real-guest] through the daemon, ${viaDaemon.length} run(s): order→running p50 ${percentile(viaDaemon.map((t) => t.runningMs), 50)} ms, ` +
          `order→answering p50 ${d} ms (${(d / h).toFixed(2)}× the hand start; target ≤ 1.5×)`,
      );
    }
  });

  test('by hand: the test guest boots on a routed tap with its limits (the floor)', async () => {
    // with the daemon test, further hand boots alternate with its creates (fair under a varying load)
    const runs = daemonSkipReason() ? RUNS : 1;
    for (let i = 0; i < runs; i++) hand.push(await bootByHand(hv, img, work, i));
  });

  test('through the node daemon: create, limits, spoofing, stop/start, reboot, rebuild, delete', { skip: daemonSkipReason() ?? false }, async () => {
    await throughDaemon(hv, img, work);
  });
});

// ---- 1. by hand ---------------------------------------------------------------------------------

async function bootByHand(hv: Hypervisor, img: GuestImage, work: string, i: number): Promise<Timing> {
  const ns = hv.netns;
  const name = `rg-hand-${i}`;
  const tap = `obrh${i}${randomUUID().slice(0, 6)}`;
  const addr = `198.51.100.${100 + i}`;
  const mac = `52:54:00:7e:00:${(16 + i).toString(16).padStart(2, '0')}`;
  const hostname = `hand-${i}`;
  const dir = join(work, name);
  mkdirSync(join(dir, 'seed'), { recursive: true });

  await run('ip', ['-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await inNetns(ns, 'sysctl', ['-qw', `net.ipv4.conf.${tap}.rp_filter=1`, `net.ipv4.conf.${tap}.proxy_arp=1`]);
  await run('ip', ['-n', ns, 'link', 'set', tap, 'up']);
  await run('ip', ['-n', ns, 'addr', 'add', `${GW}/32`, 'dev', tap]);
  await run('ip', ['-n', ns, 'route', 'add', `${addr}/32`, 'dev', tap]);
  try {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', img.image, '-F', 'qcow2', join(dir, 'disk.qcow2'), '1G']);
    writeFileSync(join(dir, 'seed', 'meta-data'), `instance-id: ${name}\nlocal-hostname: ${hostname}\n`);
    writeFileSync(join(dir, 'seed', 'user-data'), `#cloud-config\nssh_authorized_keys:\n  - ${SSH_KEY}\n`);
    writeFileSync(
      join(dir, 'seed', 'network-config'),
      `version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: "${mac}"\n    set-name: eth0\n    addresses:\n      - ${addr}/32\n    routes:\n      - to: 0.0.0.0/0\n        via: ${GW}\n        on-link: true\n`,
    );
    const seedFiles = ['meta-data', 'user-data', 'network-config'].map((f) => join(dir, 'seed', f));
    await run('genisoimage', ['-quiet', '-output', join(dir, 'seed.iso'), '-volid', 'cidata', '-joliet', '-rock', ...seedFiles]);
    const xml = `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <cputune><period>100000</period><quota>50000</quota></cputune>
  <os><type arch='x86_64'>hvm</type><kernel>${img.kernel}</kernel><initrd>${img.initrd}</initrd><cmdline>${img.cmdline}</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${join(dir, 'disk.qcow2')}'/><target dev='vda' bus='virtio'/>
      <iotune><total_iops_sec>500</total_iops_sec><total_bytes_sec>10485760</total_bytes_sec></iotune></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${join(dir, 'seed.iso')}'/><target dev='vdb' bus='virtio'/><readonly/></disk>
    <interface type='ethernet'><mac address='${mac}'/><target dev='${tap}' managed='no'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <memballoon model='none'/>
  </devices>
</domain>`;
    writeFileSync(join(dir, 'domain.xml'), xml);
    await virsh(hv.uri, ['define', join(dir, 'domain.xml')]);
    const t0 = Date.now();
    await virsh(hv.uri, ['start', name]);
    const startMs = Date.now() - t0;
    let pingMs = 0;
    const pinged = waitForPing(ns, addr, 120_000).then(() => {
      pingMs = Date.now() - t0;
    });
    const got = await waitForGuestHttp(ns, addr, 120_000);
    const httpMs = Date.now() - t0;
    await pinged;
    assert.equal(got, hostname);
    assert.equal((await guestGet(ns, addr, '/authorized_keys'))?.trim(), SSH_KEY);
    assert.equal((await guestGet(ns, addr, '/disk'))?.trim(), String(1024 ** 3));
    assert.equal(vcpuQuota(hv, name).quota, 50000);
    assert.equal((await liveIotune(hv.uri, name)).total_iops_sec, 500);
    if (i === 0) {
      const own = await pingFromGuest(ns, addr, addr, GW, 2);
      assert.ok(own.arrived >= 2, `echo requests from the guest's own address must arrive (${own.output})`);
      const spoofed = await pingFromGuest(ns, addr, '198.51.100.250', GW, 3);
      assert.equal(spoofed.arrived, 0, 'echo requests from an address the guest was not given must not arrive');
      assert.ok(spoofed.rpFilterDrops >= 3, `rp_filter must have dropped them (${spoofed.rpFilterDrops})`);
    }
    return { startMs, pingMs, httpMs };
  } finally {
    await tryRun('virsh', ['-q', '-c', hv.uri, 'destroy', name]);
    await tryRun('virsh', ['-q', '-c', hv.uri, 'undefine', name]);
    await tryRun('ip', ['-n', ns, 'link', 'del', tap]);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 2. through the daemon -------------------------------------------------------------------------

interface EventRecord {
  subject: string;
  data: Record<string, unknown>;
}

async function throughDaemon(hv: Hypervisor, img: GuestImage, work: string): Promise<void> {
  const ns = hv.netns;
  const nodeId = uniqueName('rg');
  const prefix = uniqueSubjectPrefix();
  const s = makeSubjects(prefix);
  const dataDir = join(work, 'node');
  mkdirSync(dataDir, { recursive: true });

  const nc: NatsConnection = await connect({ servers: TEST_NATS_URL });
  const events: EventRecord[] = [];
  const sub = nc.subscribe(`${prefix}.node.${nodeId}.>`);
  void (async () => {
    for await (const m of sub) {
      try {
        events.push({ subject: m.subject, data: m.json() });
      } catch {
        /* not JSON */
      }
    }
  })();
  await nc.flush();

  mkdirSync(join(REPO, '.data/real-guest'), { recursive: true });
  const logFile = join(REPO, '.data/real-guest', `node-daemon-${nodeId}.log`);
  const daemon: ChildProcess = spawn(process.execPath, [DAEMON_MAIN], {
    env: {
      ...process.env,
      NODE_ID: nodeId,
      NATS_URL: TEST_NATS_URL,
      NATS_SUBJECT_PREFIX: prefix,
      LIBVIRT_URI: hv.uri,
      DOMAIN_TYPE: 'qemu',
      OBLAKO_PROVISIONING: 'full',
      OBLAKO_DATA_DIR: dataDir,
      OBLAKO_NETNS: ns,
      STOP_GRACE_SECONDS: '20',
      HEARTBEAT_INTERVAL_MS: '500',
      LOG_LEVEL: 'info',
      // Direct kernel boot of the test guest for every server of this node (proposed node setting;
      // see tools/guest-image/README.md and the report of issue 3).
      OBLAKO_DIRECT_KERNEL: img.kernel,
      OBLAKO_DIRECT_INITRD: img.initrd,
      OBLAKO_DIRECT_CMDLINE: img.cmdline,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  daemon.stdout?.on('data', (b: Buffer) => log.push(b.toString()));
  daemon.stderr?.on('data', (b: Buffer) => log.push(b.toString()));
  const dump = () => writeFileSync(logFile, log.join(''));

  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const serverIds: string[] = [];

  const command = async (cmd: Record<string, unknown> & { op: string }, timeoutMs = 180_000): Promise<{ ok: boolean; error?: { message: string } }> => {
    const taskId = randomUUID();
    const full = { v: WIRE_VERSION, taskId, nodeId, attempt: 1, issuedAt: Date.now(), ...cmd } as unknown as NodeCommandInput;
    await js.publish(s.nodeCommand(nodeId, cmd.op), JSON.stringify(full));
    const res = await waitFor(
      `task.result of ${cmd.op}`,
      () => events.find((e) => e.subject.endsWith('.evt.task.result') && e.data.taskId === taskId),
      { timeoutMs, intervalMs: 20 },
    );
    return res.data as { ok: boolean; error?: { message: string } };
  };

  try {
    await waitFor(
      'the daemon to create its command stream and consumer',
      async () => {
        if (daemon.exitCode !== null) throw new Error(`node daemon exited with ${daemon.exitCode}:\n${log.join('')}`);
        return jsm.consumers.info(s.commandStream, s.nodeConsumer(nodeId)).then(
          () => true,
          () => false,
        );
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    const spec = (i: number, address: string): ServerSpec => ({
      serverId: randomUUID(),
      hostname: `rg-${i}.example.test`,
      vcpus: 1,
      memoryMiB: 256,
      diskGiB: 2,
      cpuQuotaPercent: 50,
      cpuShares: 1024,
      diskIops: 500,
      diskMBps: 10,
      netMbit: 8,
      image: { id: randomUUID(), name: 'oblako-test-guest', url: `file://${img.image}`, sha256: img.imageSha256, format: 'qcow2', cloudInit: 'nocloud' },
      addresses: [{ family: 4, address, prefix: 32, gateway: GW }],
      sshKeys: [SSH_KEY],
      rootPasswordHash: ROOT_HASH,
    });

    // -- create, RUNS times (timed); the first server stays for the checks below
    let first: ServerSpec | null = null;
    for (let i = 0; i < RUNS; i++) {
      if (i > 0) hand.push(await bootByHand(hv, img, work, i));
      const sp = spec(i, `198.51.100.${10 + i}`);
      serverIds.push(sp.serverId);
      const t0 = Date.now();
      const res = await command({ op: 'create', serverId: sp.serverId, spec: sp });
      assert.equal(res.ok, true, `create failed: ${res.error?.message}`);
      const runningMs = Date.now() - t0;
      const host = await waitForGuestHttp(ns, sp.addresses[0]!.address, 120_000);
      const answeringMs = Date.now() - t0;
      viaDaemon.push({ runningMs, answeringMs });
      assert.equal(host, 'rg-' + i, 'the guest reports the (short) hostname it was given');
      if (i === 0) first = sp;
      else {
        assert.equal((await command({ op: 'delete', serverId: sp.serverId, addresses: sp.addresses })).ok, true);
      }
    }
    const sp = first!;
    const addr = sp.addresses[0]!.address;
    const domain = `oblako-${sp.serverId}`;
    const tap = expectedTapName(sp.serverId);

    writeFileSync(join(REPO, '.data/real-guest', `domain-${nodeId}.xml`), await virsh(hv.uri, ['dumpxml', domain]));

    // -- what the guest got from the seed
    assert.ok(await pingOnce(ns, addr, 2), 'the guest answers ping on its address');
    assert.equal((await guestGet(ns, addr, '/authorized_keys'))?.trim(), SSH_KEY);
    assert.equal((await guestGet(ns, addr, '/root-password-hash'))?.trim(), ROOT_HASH);
    assert.equal((await guestGet(ns, addr, '/disk'))?.trim(), String(sp.diskGiB * 1024 ** 3), 'the overlay is grown to the plan size');
    assert.match((await guestGet(ns, addr, '/disk-marker')) ?? '', /^OBLAKO-TEST-BASE/, 'the disk is an overlay of the base image');

    // -- the limits where the kernel enforces them
    assert.equal(vcpuQuota(hv, domain).quota, 50_000, 'vcpu0 cpu.cfs_quota_us = 50 % of the 100000 µs period');
    const io = await liveIotune(hv.uri, domain);
    assert.equal(io.total_iops_sec, 500);
    assert.ok([10 * 1000 * 1000, 10 * 1024 * 1024].includes(io.total_bytes_sec ?? -1), `diskMBps 10 → total_bytes_sec (found ${io.total_bytes_sec})`);
    const want = sp.netMbit * 1_000_000;
    const tapRates = Object.values(await htbRates(ns, tap));
    assert.ok(tapRates.includes(want), `the tap's htb class rate is ${want} bit/s (found ${tapRates.join(', ')})`);
    const police = await ingressPoliceRates(ns, tap);
    const ifb = await ingressRedirect(ns, tap);
    const outRates = ifb ? Object.values(await htbRates(ns, ifb)) : police;
    assert.ok(outRates.includes(want), `the guest's outbound rate is ${want} bit/s (found ${outRates.join(', ')}; ${ifb ? 'ifb ' + ifb : 'police'})`);
    // …and enforced: 3 s worth of traffic each way may not go faster than the limit (+25 % for bursts)
    const out = await guestOutboundRate(ns, addr, (3 * want) / 8);
    assert.ok(out * 8 <= want * 1.25, `guest → host at ${Math.round(out * 8)} bit/s exceeds ${want}`);
    const upload = join(work, 'upload.bin');
    writeFileSync(upload, Buffer.alloc((3 * want) / 8));
    const inb = await guestInboundRate(ns, addr, upload);
    assert.ok(inb * 8 <= want * 1.25, `host → guest at ${Math.round(inb * 8)} bit/s exceeds ${want}`);

    // -- spoofing
    const own = await pingFromGuest(ns, addr, addr, GW, 2);
    assert.ok(own.arrived >= 2, `the guest reaches the gateway from its own address (${own.output})`);
    const spoofed = await pingFromGuest(ns, addr, '198.51.100.250', GW, 3);
    assert.equal(spoofed.arrived, 0, 'nothing from an address the guest was not given arrives');

    // -- stop (ACPI) / start; the guest's data filesystem keeps what was written (and a rebuild starts afresh)
    assert.equal((await guestGet(ns, addr, '/data-mounted'))?.trim(), 'yes', 'the guest made and mounted its data filesystem');
    await guestWrite(ns, addr, 'kept', 'written before the stop');
    assert.equal((await command({ op: 'stop', serverId: sp.serverId, graceSeconds: 30 })).ok, true);
    assert.equal((await virsh(hv.uri, ['domstate', domain])).trim(), 'shut off');
    assert.equal(await pingOnce(ns, addr, 1), false, 'a stopped server does not answer');
    assert.equal((await command({ op: 'start', serverId: sp.serverId })).ok, true);
    assert.equal(await waitForGuestHttp(ns, addr, 120_000), 'rg-0');
    assert.equal(await guestRead(ns, addr, 'kept'), 'written before the stop', 'the data survives a stop and a start');

    // -- reboot, and rebuild from the image keeping the address
    assert.equal((await command({ op: 'reboot', serverId: sp.serverId })).ok, true, 'reboot');
    assert.equal(await waitForGuestHttp(ns, addr, 120_000), 'rg-0', 'answers again after reboot');
    assert.equal((await command({ op: 'rebuild', serverId: sp.serverId, spec: sp })).ok, true, 'rebuild');
    assert.equal(await waitForGuestHttp(ns, addr, 120_000), 'rg-0', 'answers on the same address after rebuild');
    assert.equal(await guestRead(ns, addr, 'kept'), null, 'a rebuild gives a fresh disk');
    assert.equal((await guestGet(ns, addr, '/data-mounted'))?.trim(), 'yes', 'and a fresh data filesystem');
    assert.equal(vcpuQuota(hv, domain).quota, 50_000, 'limits still applied after rebuild');
    assert.ok(Object.values(await htbRates(ns, tap)).includes(want), 'tap rate still applied after rebuild');

    // -- delete: nothing left
    assert.equal((await command({ op: 'delete', serverId: sp.serverId, addresses: sp.addresses })).ok, true);
    const names = await virsh(hv.uri, ['list', '--all', '--name']);
    assert.ok(!names.includes(domain), 'no domain left');
    assert.equal((await tryRun('ip', ['-n', ns, 'link', 'show', tap])).ok, false, 'no tap left');
    const routes = (await run('ip', ['-n', ns, 'route', 'show'])).stdout;
    assert.ok(!routes.includes(addr), `no route to ${addr} left`);
    assert.equal((await command({ op: 'delete', serverId: sp.serverId, addresses: sp.addresses })).ok, true, 'delete is safe to repeat');
  } finally {
    for (const id of serverIds) await destroyDomains(hv.uri, `oblako-${id}`).catch(() => undefined);
    for (const id of serverIds) await tryRun('ip', ['-n', ns, 'link', 'del', expectedTapName(id)]);
    daemon.kill('SIGTERM');
    await new Promise((r) => (daemon.exitCode !== null ? r(null) : daemon.once('exit', r)));
    dump();
    await sub.drain().catch(() => undefined);
    await jsm.streams.delete(s.commandStream).catch(() => undefined);
    await nc.close();
  }
}
