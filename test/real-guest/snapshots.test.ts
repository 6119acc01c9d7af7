/**
 * Issue 12's snapshot proof on a real guest, through the HTTP API (API + node daemon with full provisioning on
 * QEMU in a private libvirtd's namespace): write A, snapshot, write B, revert → the guest reads A; delete the
 * snapshot → the disk still reads A, after a stop and a start too. Also a snapshot of a paused guest reverts to
 * paused, a non-leaf snapshot deletes after a revert (libvirt 9.0 internal snapshots), another tenant gets 404,
 * and a server with snapshots deletes cleanly (its domain's snapshot metadata goes with it).
 * Opt-in like the other real-guest tests (OBLAKO_REAL_GUEST=1).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlanView, ServerView, SnapshotView } from '@oblako/contracts';
import type { ApiClient, Stack } from '@oblako/devstack';
import { waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import {
  guestGet, guestRead, guestWrite, realGuestSkipReason, startGuestStack, tryRun, virsh, waitForGuestHttp,
  type GuestStack, type Hypervisor,
} from './support.js';

const skip = realGuestSkipReason();

describe('snapshots of a real guest, through the API', { skip: skip ?? false }, () => {
  let rg: GuestStack;
  let hv: Hypervisor;
  let stack: Stack;
  let customer: ApiClient;
  let other: ApiClient;
  let plan: PlanView;

  before(async () => {
    rg = await startGuestStack({
      name: 'snap',
      plan: { name: 'Snapshot test', vcpus: 1, memoryMiB: 128, diskGiB: 1, cpuQuotaPercent: 100, diskIops: 2000, diskMBps: 100, netMbit: 100, priceMonthlyCents: 100 },
      customers: [{ name: 'snap', company: 'snap Ltd' }, { name: 'snap-other', company: 'snap-other Ltd' }],
    });
    ({ hv, stack, plan } = rg);
    [customer, other] = rg.customers.map((c) => c.client) as [ApiClient, ApiClient];
  });

  after(async () => {
    await rg?.close();
  });

  const snapshotsOf = (id: string) => customer.ok<SnapshotView[]>('GET', `/api/v1/servers/${id}/snapshots`);
  async function snapshot(id: string, name: string): Promise<SnapshotView> {
    const r = await customer.call('POST', `/api/v1/servers/${id}/snapshots`, { name });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const s = await waitFor(`snapshot ${name} ready`, async () => (await snapshotsOf(id)).find((x) => x.name === name && x.state === 'ready'), { timeoutMs: 180_000, intervalMs: 100 });
    const server = await customer.ok<ServerView>('GET', `/api/v1/servers/${id}`);
    assert.equal(server.currentTask?.state, 'succeeded', server.currentTask?.error ?? '');
    return s;
  }
  async function on(id: string, method: 'POST' | 'DELETE', path: string, end: string): Promise<number> {
    const t0 = Date.now();
    const r = await customer.call(method, `/api/v1/servers/${id}/snapshots/${path}`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const s = await waitForState(customer, id, end, 180_000);
    assert.equal(s.currentTask?.state, 'succeeded', s.currentTask?.error ?? '');
    return Date.now() - t0;
  }

  test('write A, snapshot, write B, revert: reads A; delete the snapshot: still A; paused and non-leaf cases; another tenant 404', async () => {
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId: (await customer.ok<{ id: string }[]>('GET', '/api/v1/images'))[0]!.id, locationId: stack.seed.locationId, hostname: 'snappy.example.test' });
    const server = await waitForState(customer, created.id, 'running', 180_000);
    const id = server.id;
    const addr = server.addresses[0]!.address;
    const ns = hv.netns;
    const domain = `oblako-${id}`;
    await waitForGuestHttp(ns, addr, 180_000);
    assert.equal((await guestGet(ns, addr, '/data-mounted'))?.trim(), 'yes');

    await guestWrite(ns, addr, 'f', 'A');
    const t0 = Date.now();
    const s1 = await snapshot(id, 'with A');
    const createMs = Date.now() - t0;
    assert.equal(s1.withMemory, true);
    assert.ok(s1.sizeBytes > 0, `the snapshot took space on the node (${s1.sizeBytes} bytes)`);
    await guestWrite(ns, addr, 'f', 'B');
    assert.equal(await guestRead(ns, addr, 'f'), 'B');
    const s2 = await snapshot(id, 'with B');

    // another tenant: nothing to see, revert or delete
    assert.equal((await other.call('GET', `/api/v1/servers/${id}/snapshots`)).status, 404);
    assert.equal((await other.call('POST', `/api/v1/servers/${id}/snapshots/${s1.id}/revert`)).status, 404);
    assert.equal((await other.call('DELETE', `/api/v1/servers/${id}/snapshots/${s1.id}`)).status, 404);

    const revertMs = await on(id, 'POST', `${s1.id}/revert`, 'running');
    assert.equal(await guestRead(ns, addr, 'f'), 'A', 'after the revert the guest reads A');
    // s1 is now the parent of s2 and the current snapshot: a non-leaf delete after a revert
    const deleteMs = await on(id, 'DELETE', s1.id, 'running');
    assert.equal(await guestRead(ns, addr, 'f'), 'A', 'deleting the snapshot keeps what the disk has');
    const names = (await virsh(hv.uri, ['snapshot-list', domain, '--name'])).split('\n').map((l) => l.trim()).filter(Boolean);
    assert.deepEqual(names, [`s-${s2.id}`], 'libvirt holds only the other snapshot');
    assert.deepEqual((await snapshotsOf(id)).map((s) => s.name), ['with B']);

    // the disk really holds A: a stop and a start (a fresh boot reads the filesystem from the disk)
    assert.equal((await customer.call('POST', `/api/v1/servers/${id}/actions`, { action: 'stop' })).status, 202);
    await waitForState(customer, id, 'stopped', 120_000);
    assert.equal((await customer.call('POST', `/api/v1/servers/${id}/actions`, { action: 'start' })).status, 202);
    await waitForState(customer, id, 'running', 120_000);
    await waitForGuestHttp(ns, addr, 180_000);
    assert.equal(await guestRead(ns, addr, 'f'), 'A', 'after a stop and a start the disk still reads A');

    // a snapshot of a paused guest reverts to paused; resumed, it reads what it had then
    await guestWrite(ns, addr, 'f', 'C');
    assert.equal((await customer.call('POST', `/api/v1/servers/${id}/actions`, { action: 'pause' })).status, 202);
    await waitForState(customer, id, 'paused', 60_000);
    const p = await snapshot(id, 'paused with C');
    assert.equal((await customer.call('POST', `/api/v1/servers/${id}/actions`, { action: 'resume' })).status, 202);
    await waitForState(customer, id, 'running', 60_000);
    await guestWrite(ns, addr, 'f', 'D');
    await on(id, 'POST', `${p.id}/revert`, 'paused');
    assert.equal((await virsh(hv.uri, ['domstate', domain])).trim(), 'paused');
    assert.equal((await customer.call('POST', `/api/v1/servers/${id}/actions`, { action: 'resume' })).status, 202);
    await waitForState(customer, id, 'running', 60_000);
    assert.equal(await guestRead(ns, addr, 'f'), 'C');

    // reverting to B's snapshot (taken before the stop): the guest runs from that moment and reads B
    await on(id, 'POST', `${s2.id}/revert`, 'running');
    assert.equal(await guestRead(ns, addr, 'f'), 'B');

    // a server with snapshots deletes: libvirt's snapshot metadata goes with the domain
    assert.equal((await customer.call('DELETE', `/api/v1/servers/${id}`)).status, 202);
    await waitForState(customer, id, 'deleted', 120_000);
    assert.equal((await tryRun('virsh', ['-c', hv.uri, 'domstate', domain])).ok, false, 'no domain is left');
    console.log(`[real-guest snapshots] create (running, 128 MiB guest) ${createMs} ms, revert ${revertMs} ms, delete ${deleteMs} ms, first snapshot ${(s1.sizeBytes / 2 ** 20).toFixed(1)} MiB on the node`);
  });
});
