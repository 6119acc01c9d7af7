/**
 * Issue 3's end-to-end proof, through the HTTP API: in a network namespace of its own with a
 * private libvirtd inside it, the real API, node daemon (full provisioning, QEMU), NATS and
 * PostgreSQL. A customer orders servers; the guests boot, answer on their addresses with the host
 * names they were given, are held by the plan's limits where the kernel enforces them, cannot
 * send as anybody else, and follow stop/start/reboot/rebuild/delete, leaving nothing behind.
 * Opt-in like the other real-guest test (OBLAKO_REAL_GUEST=1; scripts/test.sh sets it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { IpPoolView, NodeView, PlanView, ServerView } from '@oblako/contracts';
import type { ApiClient, Stack } from '@oblako/devstack';
import { newSshPublicKey, waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import {
  ensureGuestImage,
  expectedTapName,
  guestGet,
  guestRead,
  guestWrite,
  htbRates,
  ingressRedirect,
  liveIotune,
  percentile,
  pingFromGuest,
  pingOnce,
  realGuestSkipReason,
  run,
  sourceGuardDrops,
  startGuestStack,
  tryRun,
  vcpuQuota,
  virsh,
  waitForGuestHttp,
  type GuestImage,
  type GuestStack,
  type Hypervisor,
} from './support.js';

const skip = realGuestSkipReason();
const GATEWAY = '198.51.100.1';
/** An IPv6 pool staff add next to the seed's IPv4 one: every server gets one address of each. */
const POOL6 = '2001:db8:100::/64';
const GATEWAY6 = '2001:db8:100::1';
const SSH_KEY = newSshPublicKey('api@oblako');

describe('real guests ordered through the API', { skip: skip ?? false }, () => {
  let rg: GuestStack;
  let hv: Hypervisor;
  let img: GuestImage;
  let stack: Stack;
  let customer: ApiClient;
  let admin: ApiClient;
  let plan: PlanView;
  let imageId: string;
  let locationId: string;
  const timings: { runningMs: number; answeringMs: number }[] = [];

  before(async () => {
    img = await ensureGuestImage();
    rg = await startGuestStack({
      name: 'api',
      img,
      daemonEnv: { OBLAKO_RESCUE_IMAGE: img.image },
      plan: { name: 'Guest test', vcpus: 1, memoryMiB: 256, diskGiB: 2, cpuQuotaPercent: 50, diskIops: 500, diskMBps: 10, netMbit: 8, priceMonthlyCents: 100 },
      customers: [{ name: 'rg', company: 'Guest Test Ltd' }],
    });
    ({ hv, stack, admin, plan, imageId, locationId } = rg);
    customer = rg.customers[0]!.client;
    await admin.ok<IpPoolView>('POST', '/api/v1/admin/ip-pools', { locationId: stack.seed.locationId, cidr: POOL6, gateway: GATEWAY6 });
  });

  after(async () => {
    if (timings.length) {
      console.log(
        `[real-guest api] order→running p50 ${percentile(timings.map((t) => t.runningMs), 50)} ms, ` +
          `order→guest answering p50 ${percentile(timings.map((t) => t.answeringMs), 50)} ms over ${timings.length} server(s)`,
      );
    }
    await rg?.close();
  });

  async function order(hostname: string, sshKeyIds: string[] = []): Promise<{ server: ServerView; address: string }> {
    const t0 = Date.now();
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId, locationId, hostname, sshKeyIds });
    const server = await waitForState(customer, created.id, 'running', 180_000);
    const runningMs = Date.now() - t0;
    const address = server.addresses[0]!.address;
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), hostname.split('.')[0], 'the guest reports the host name it was given');
    timings.push({ runningMs, answeringMs: Date.now() - t0 });
    return { server, address };
  }

  async function act(id: string, body: Record<string, unknown>): Promise<void> {
    const r = await customer.call('POST', `/api/v1/servers/${id}/actions`, body);
    assert.equal(r.status, 202, JSON.stringify(r.body));
  }

  test('a server ordered through the API runs, answers, is held by its limits and cannot spoof', async () => {
    const key = await customer.ok<{ id: string }>('POST', '/api/v1/ssh-keys', { name: 'laptop', publicKey: SSH_KEY });
    const { server, address } = await order('alpha.example.test', [key.id]);
    const domain = `oblako-${server.id}`;
    const tap = expectedTapName(server.id);

    assert.ok(await pingOnce(hv.netns, address, 2), 'the guest answers ping on its address');
    assert.equal((await guestGet(hv.netns, address, '/authorized_keys'))?.trim(), SSH_KEY, 'the SSH key chosen in the order is installed');
    assert.equal((await guestGet(hv.netns, address, '/disk'))?.trim(), String(plan.diskGiB * 1024 ** 3), "the disk has the plan's size");

    // the plan's limits, read back from the kernel and the live domain
    assert.equal(vcpuQuota(hv, domain).quota, 50_000, "vcpu0's cpu.cfs_quota_us is the plan's 50 % of a 100 ms period");
    const io = await liveIotune(hv.uri, domain);
    assert.equal(io.total_iops_sec, 500);
    assert.ok([10 * 1000 * 1000, 10 * 1024 * 1024].includes(io.total_bytes_sec ?? -1), `total_bytes_sec for 10 MB/s (found ${io.total_bytes_sec})`);
    const want = 8 * 1_000_000;
    assert.ok(Object.values(await htbRates(hv.netns, tap)).includes(want), 'the tap (host → guest) is shaped to 8 Mbit/s');
    const ifb = await ingressRedirect(hv.netns, tap);
    assert.ok(ifb && Object.values(await htbRates(hv.netns, ifb)).includes(want), 'the guest → host direction is shaped to 8 Mbit/s');

    // sending from an address it was not given reaches nobody
    assert.ok((await pingFromGuest(hv.netns, address, address, GATEWAY, 2)).arrived >= 2, 'its own address works');
    assert.equal((await pingFromGuest(hv.netns, address, '198.51.100.250', GATEWAY, 3)).arrived, 0, 'a made-up source address is dropped');

    // IPv6 has no rp_filter: the daemon's nftables source guard on the tap is what drops it
    const address6 = server.addresses.find((a) => a.family === 6)?.address;
    assert.ok(address6, `the server got an IPv6 address from the staff's IPv6 pool (${JSON.stringify(server.addresses)})`);
    assert.ok(await pingOnce(hv.netns, address6, 2), 'the guest answers ping on its IPv6 address');
    const own6 = await pingFromGuest(hv.netns, address, address6, GATEWAY6, 2);
    assert.ok(own6.arrived >= 2, `its own IPv6 address works: ${own6.output}`);
    const drops = await sourceGuardDrops(hv.netns, tap);
    const spoof6 = await pingFromGuest(hv.netns, address, '2001:db8:100::fa', GATEWAY6, 3);
    assert.equal(spoof6.arrived, 0, `a made-up IPv6 source address is dropped: ${spoof6.output}`);
    assert.ok((await sourceGuardDrops(hv.netns, tap)) - drops >= 3, "the guest did send them: the tap's source guard counted the drops");
  });

  test("a second server gets its own address and cannot take the first one's traffic", async () => {
    const servers = (await customer.ok<{ items: ServerView[] }>('GET', '/api/v1/servers')).items.filter((s) => s.state === 'running');
    const first = servers[0]!;
    const firstAddress = first.addresses[0]!.address;
    const { server: second, address } = await order('beta.example.test');
    assert.notEqual(address, firstAddress);
    assert.notEqual(expectedTapName(second.id), expectedTapName(first.id));
    // the second guest claims the first one's address: its packets are dropped...
    assert.equal((await pingFromGuest(hv.netns, address, firstAddress, GATEWAY, 3)).arrived, 0, "packets sent as the neighbour's address are dropped");
    // ...and traffic for that address still goes to the first guest only
    assert.equal((await guestGet(hv.netns, firstAddress, '/hostname'))?.trim(), 'alpha');
    assert.equal((await guestGet(hv.netns, address, '/hostname'))?.trim(), 'beta');
  });

  test('resize a running guest: the live domain, its cgroup quota and iotune, and what the guest sees all follow the new plan', async () => {
    const beta = (await customer.ok<{ items: ServerView[] }>('GET', '/api/v1/servers')).items.find((x) => x.hostname === 'beta.example.test')!;
    const address = beta.addresses[0]!.address;
    const domain = `oblako-${beta.id}`;
    assert.equal((await guestGet(hv.netns, address, '/nproc'))?.trim(), '1');
    const memBefore = Number((await guestGet(hv.netns, address, '/memtotal-kib'))?.trim());
    const bigger = await admin.ok<PlanView>('POST', '/api/v1/admin/plans', {
      name: 'Guest test XL', vcpus: 2, memoryMiB: 384, diskGiB: 3, cpuQuotaPercent: 80, diskIops: 800, diskMBps: 20, netMbit: 8, priceMonthlyCents: 200,
    });
    const t0 = Date.now();
    const r = await customer.call<ServerView>('POST', `/api/v1/servers/${beta.id}/resize`, { planId: bigger.id });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await waitForState(customer, beta.id, 'running', 180_000);
    assert.equal(done.plan.id, bigger.id, 'the server shows its new plan');
    assert.equal(done.currentTask?.op, 'resize');
    assert.equal(done.currentTask?.state, 'succeeded', done.currentTask?.error ?? '');
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'beta', 'the guest answers on its address again');
    const resizedMs = Date.now() - t0;

    // the live domain
    const xml = await virsh(hv.uri, ['dumpxml', domain]);
    assert.equal(/<vcpu[^>]*>(\d+)<\/vcpu>/.exec(xml)?.[1], '2', 'two vCPUs in the live domain');
    assert.equal(/<currentMemory unit='KiB'>(\d+)<\/currentMemory>/.exec(xml)?.[1], String(384 * 1024), '384 MiB in the live domain');
    // where the kernel holds it: each vCPU's cgroup quota, the disk's iotune
    for (const vcpu of [0, 1]) assert.equal(vcpuQuota(hv, domain, vcpu).quota, 80_000, `vcpu${vcpu}'s cpu.cfs_quota_us is the new plan's 80 %`);
    const io = await liveIotune(hv.uri, domain);
    assert.equal(io.total_iops_sec, 800);
    assert.ok([20 * 1000 * 1000, 20 * 1024 * 1024].includes(io.total_bytes_sec ?? -1), `total_bytes_sec for 20 MB/s (found ${io.total_bytes_sec})`);
    // what the guest itself reports
    assert.equal((await guestGet(hv.netns, address, '/nproc'))?.trim(), '2', 'the guest sees two CPUs');
    assert.equal((await guestGet(hv.netns, address, '/disk'))?.trim(), String(3 * 1024 ** 3), 'the guest sees a 3 GiB disk');
    const memAfter = Number((await guestGet(hv.netns, address, '/memtotal-kib'))?.trim());
    assert.ok(memAfter > memBefore + 100 * 1024 && memAfter <= 384 * 1024, `the guest sees more memory: ${memBefore} KiB before, ${memAfter} KiB after`);
    console.log(`[real-guest api] resize 1→2 vCPU, 256→384 MiB, 2→3 GiB: accepted → guest answering again in ${resizedMs} ms`);
  });

  test('rescue: the rescue system answers on the server\'s address and sees its disk as a second disk; unrescue boots it normally', async () => {
    const beta = (await customer.ok<{ items: ServerView[] }>('GET', '/api/v1/servers')).items.find((x) => x.hostname === 'beta.example.test')!;
    const address = beta.addresses[0]!.address;
    const own = Number((await guestGet(hv.netns, address, '/disk'))?.trim());
    await guestWrite(hv.netns, address, 'before-rescue', 'kept through rescue');
    await act(beta.id, { action: 'rescue' });
    const rescued = await waitForState(customer, beta.id, 'rescue', 180_000);
    assert.equal(rescued.addresses[0]!.address, address);
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'beta', 'the rescue system answers on the server\'s own address');
    const disks = ((await guestGet(hv.netns, address, '/disks')) ?? '').trim().split('\n').map((l) => l.split(' '));
    const names = disks.map(([n]) => n);
    assert.deepEqual(names, ['vda', 'vdb', 'vdc'], `rescue disk, seed, the server's own disk: ${JSON.stringify(disks)}`);
    assert.equal(Number(disks.find(([n]) => n === 'vdc')![1]), own, "the second disk is the server's own, at its size");
    assert.notEqual(Number((await guestGet(hv.netns, address, '/disk'))?.trim()), own, 'the rescue system booted from its own disk, not the server\'s');
    await act(beta.id, { action: 'unrescue' });
    await waitForState(customer, beta.id, 'running', 180_000);
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'beta');
    assert.equal(Number((await guestGet(hv.netns, address, '/disk'))?.trim()), own, 'it boots from its own disk again');
    assert.equal(((await guestGet(hv.netns, address, '/disks')) ?? '').trim().split('\n').length, 2, 'the rescue disk is gone');
    assert.equal((await guestRead(hv.netns, address, 'before-rescue'))?.trim(), 'kept through rescue', 'its data is where it was');
  });

  test('stop, start, reboot, rebuild keeping the address, delete leaving nothing', async () => {
    const all = (await customer.ok<{ items: ServerView[] }>('GET', '/api/v1/servers')).items;
    const s = all.find((x) => x.hostname === 'alpha.example.test')!;
    const address = s.addresses[0]!.address;
    const domain = `oblako-${s.id}`;
    const tap = expectedTapName(s.id);

    await act(s.id, { action: 'stop' });
    await waitForState(customer, s.id, 'stopped', 120_000);
    assert.equal((await virsh(hv.uri, ['domstate', domain])).trim(), 'shut off');
    assert.equal(await pingOnce(hv.netns, address, 1), false, 'a stopped server does not answer');

    await act(s.id, { action: 'start' });
    await waitForState(customer, s.id, 'running', 120_000);
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'alpha');

    await act(s.id, { action: 'reboot' });
    await waitForState(customer, s.id, 'running', 120_000);
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'alpha', 'answers again after the reboot');

    await act(s.id, { action: 'rebuild', imageId });
    const rebuilt = await waitForState(customer, s.id, 'running', 180_000);
    assert.equal(rebuilt.addresses[0]!.address, address, 'rebuild keeps the address');
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'alpha', 'answers on the same address after the rebuild');
    assert.equal(vcpuQuota(hv, domain).quota, 50_000, 'limits hold after the rebuild');

    const nodeBefore = await capacityUsed();
    const del = await customer.call('DELETE', `/api/v1/servers/${s.id}`);
    assert.ok(del.status === 202 || del.status === 204, `delete answered ${del.status}`);
    await waitFor(`server ${s.id} deleted`, async () => {
      const r = await customer.call<ServerView>('GET', `/api/v1/servers/${s.id}`);
      return r.status === 404 || r.body.state === 'deleted';
    }, { timeoutMs: 120_000, intervalMs: 200 });
    assert.ok(!(await virsh(hv.uri, ['list', '--all', '--name'])).includes(domain), 'no domain left');
    assert.equal((await tryRun('ip', ['-n', hv.netns, 'link', 'show', tap])).ok, false, 'no tap left');
    assert.ok(!(await run('ip', ['-n', hv.netns, 'route', 'show'])).stdout.includes(`${address} `), 'no route left');
    const files = (await run('find', [join(stack.dataDirOf(stack.seed.nodeId)), '-name', `*${s.id}*`])).stdout.trim();
    assert.equal(files, '', 'no disk or seed left');
    const nodeAfter = await capacityUsed();
    assert.equal(nodeAfter.usedVcpus, nodeBefore.usedVcpus - plan.vcpus, 'capacity is free again');
    assert.equal(nodeAfter.usedAddresses, nodeBefore.usedAddresses - 1, 'the address is free again');
  });

  async function capacityUsed(): Promise<{ usedVcpus: number; usedAddresses: number }> {
    const node = (await admin.ok<NodeView[]>('GET', '/api/v1/admin/nodes')).find((n) => n.id === stack.seed.nodeId)!;
    const pool = (await admin.ok<IpPoolView[]>('GET', '/api/v1/admin/ip-pools')).find((p) => p.id === stack.seed.ipPoolId)!;
    return { usedVcpus: node.usedVcpus, usedAddresses: pool.used };
  }
});
