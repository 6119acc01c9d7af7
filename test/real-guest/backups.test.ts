/**
 * Issue 12's backup proof on a real guest, through the HTTP API (API + node daemon with full provisioning on QEMU in a
 * private libvirtd's namespace). The backup store is a second "host": a network namespace running Debian's sshd,
 * reached only over a veth link, with the node's own key in its authorized_keys and its host key pinned by staff.
 * Write A, back up the running server, write B, restore in place → reads A. A second backup, then keep-last 1 prunes
 * the first (its file goes from the store, the newest stays). A store that is down → a failed backup that says why,
 * nothing half-written on the store. Another tenant: 404 on list, restore and delete. Delete the server, restore its
 * backup into a new server → it boots and reads A; delete that deleted server's backup → its file is gone from the
 * store. Incremental backups: a full one, a small write, an incremental that moves far fewer bytes, restored (its
 * chain) into a new server and in place; then a new full chain. Opt-in like the other real-guest tests
 * (OBLAKO_REAL_GUEST=1).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupView, PlanView, ServerView, TenantBackupView } from '@oblako/contracts';
import type { ApiClient, Stack } from '@oblako/devstack';
import { waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import {
  guestGet, guestRead, guestWrite, realGuestSkipReason, sha256File, startGuestStack, startStoreHost, storeFiles, virsh, waitForGuestHttp,
  type GuestStack, type Hypervisor, type StoreHost,
} from './support.js';

const skip = realGuestSkipReason() ?? (existsSync('/usr/sbin/sshd') ? null : 'needs openssh-server (sshd) for the backup store');

describe('backups of a real guest to an SSH store on a second host, through the API', { skip: skip ?? false }, () => {
  let rg: GuestStack;
  let hv: Hypervisor;
  let stack: Stack;
  let store: StoreHost;
  let admin: ApiClient;
  let customer: ApiClient;
  let other: ApiClient;
  let plan: PlanView;
  let base: string;

  before(async () => {
    rg = await startGuestStack({
      name: 'backup',
      plan: { name: 'Backup test', vcpus: 1, memoryMiB: 128, diskGiB: 1, cpuQuotaPercent: 100, diskIops: 2000, diskMBps: 100, netMbit: 100, priceMonthlyCents: 100 },
      customers: [{ name: 'bk', company: 'bk Ltd' }, { name: 'bk-other', company: 'bk-other Ltd' }],
    });
    ({ hv, stack, admin, plan } = rg);
    [customer, other] = rg.customers.map((c) => c.client) as [ApiClient, ApiClient];
    // the node's own backup key (made on its first start) goes into the store's authorized_keys
    const keyFile = join(stack.dataDirOf(stack.seed.nodeId), 'backups', 'backup_ed25519.pub');
    await waitFor('the node\'s backup key', async () => existsSync(keyFile), { timeoutMs: 30_000, intervalMs: 200 });
    store = await startStoreHost(readFileSync(keyFile, 'utf8').trim());
    base = join(store.dir, 'store');
    await admin.ok('POST', '/api/v1/admin/backup-stores', {
      locationId: stack.seed.locationId, name: 'store over a veth', host: store.address, port: 22, username: 'root', basePath: base, hostKey: store.hostKeyLine,
    });
  });

  after(async () => {
    await rg?.close();
    await store?.close().catch(() => undefined);
  });

  const backupsOf = (id: string) => customer.ok<BackupView[]>('GET', `/api/v1/servers/${id}/backups`);
  async function backUp(id: string): Promise<BackupView> {
    const t0 = Date.now();
    const r = await customer.call('POST', `/api/v1/servers/${id}/backups`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const bid = (r.body as BackupView).id;
    const b = await waitFor(`backup ${bid} to end`, async () => (await backupsOf(id)).find((x) => x.id === bid && (x.state === 'ready' || x.state === 'failed')), { timeoutMs: 600_000, intervalMs: 250 });
    await waitForState(customer, id, 'running', 60_000);
    console.log(`[real-guest backups] backup ${b.state} in ${Date.now() - t0} ms (node: ${b.durationMs} ms), ${b.sizeBytes} bytes${b.error ? `: ${b.error}` : ''}`);
    return b;
  }
  const fileOf = (serverId: string, backupId: string) => join(base, serverId, `${backupId}.qcow2`);

  // The guest's write endpoint flushes loop0 and vda after its sync (tools/guest-image/initramfs/init): with sync
  // alone, ext4's metadata written through the loop device could still sit in the guest's cache of vda when the
  // backup began, and an in-place restore then read the file as '' (1 of 2 runs before; 3 of 3 after).
  test('back up, restore in place, prune, a store that is down, another tenant, restore a deleted server into a new one, delete from the store', async () => {
    const images = await customer.ok<{ id: string }[]>('GET', '/api/v1/images');
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId: images[0]!.id, locationId: stack.seed.locationId, hostname: 'backed-up.example.test' });
    const server = await waitForState(customer, created.id, 'running', 180_000);
    const id = server.id;
    const addr = server.addresses[0]!.address;
    const ns = hv.netns;
    await waitForGuestHttp(ns, addr, 180_000);
    assert.equal((await guestGet(ns, addr, '/data-mounted'))?.trim(), 'yes');

    // write A, back up the running server: the file on the store is the one recorded, nothing else is there
    await guestWrite(ns, addr, 'f', 'A');
    const b1 = await backUp(id);
    assert.equal(b1.state, 'ready', b1.error ?? '');
    assert.equal(b1.virtualSizeBytes, 1024 ** 3);
    assert.deepEqual(storeFiles(base), [`${id}/${b1.id}.qcow2`], 'one file under the backup\'s name, no .tmp');
    assert.equal(sha256File(fileOf(id, b1.id)), b1.sha256, 'the store holds what was recorded');
    assert.equal(readFileSync(fileOf(id, b1.id)).length, b1.sizeBytes);
    const staging = join(stack.dataDirOf(stack.seed.nodeId), 'backups', 'staging');
    assert.deepEqual(existsSync(staging) ? readdirSync(staging).filter((f) => f.endsWith('.qcow2')) : [], [], 'nothing left staged on the node');

    // write B, restore in place: reads A again (same address, same server)
    await guestWrite(ns, addr, 'f', 'B');
    assert.equal(await guestRead(ns, addr, 'f'), 'B');
    const t0 = Date.now();
    const restoring = await customer.call('POST', `/api/v1/servers/${id}/backups/${b1.id}/restore`);
    assert.equal(restoring.status, 202, JSON.stringify(restoring.body));
    const restored = await waitFor('the restore to end', async () => {
      const s = await customer.ok<ServerView>('GET', `/api/v1/servers/${id}`);
      return s.state === 'running' && s.currentTask?.op === 'backup_restore' && s.currentTask.state !== 'running' && s.currentTask.state !== 'queued' ? s : null;
    }, { timeoutMs: 600_000, intervalMs: 250 });
    assert.equal(restored.currentTask?.state, 'succeeded', restored.currentTask?.error ?? '');
    const restoreMs = Date.now() - t0;
    await waitForGuestHttp(ns, addr, 180_000);
    assert.equal(await guestRead(ns, addr, 'f'), 'A', 'after the restore in place the guest reads A');
    console.log(`[real-guest backups] restore in place ${restoreMs} ms`);

    // another tenant: nothing to see, restore or delete (404)
    assert.equal((await other.call('GET', `/api/v1/servers/${id}/backups`)).status, 404);
    assert.deepEqual(await other.ok<TenantBackupView[]>('GET', '/api/v1/backups'), []);
    assert.equal((await other.call('POST', `/api/v1/servers/${id}/backups/${b1.id}/restore`)).status, 404);
    assert.equal((await other.call('POST', `/api/v1/backups/${b1.id}/restore-to-new`, { hostname: 'stolen.example.test', planId: plan.id, rootPassword: 'correct-horse-1' })).status, 404);
    assert.equal((await other.call('DELETE', `/api/v1/servers/${id}/backups/${b1.id}`)).status, 404);
    assert.equal((await other.call('DELETE', `/api/v1/backups/${b1.id}`)).status, 404);
    assert.ok(existsSync(fileOf(id, b1.id)));

    // the store is down: a failed backup that says why, and nothing half-written on the store
    await store.stop();
    const down = await backUp(id);
    assert.equal(down.state, 'failed');
    assert.match(down.error ?? '', /store_unreachable/);
    assert.match(down.error ?? '', new RegExp(store.address.replace(/\./g, '\\.')));
    assert.deepEqual(storeFiles(base), [`${id}/${b1.id}.qcow2`], 'no .tmp and no file under the failed backup\'s name');
    await store.start();

    // a second backup (of A), then keep-last 1: the first one is pruned from the store, the newest kept
    const b2 = await backUp(id);
    assert.equal(b2.state, 'ready', b2.error ?? '');
    const put = await customer.call('PUT', `/api/v1/servers/${id}/backup-schedule`, {
      enabled: false, frequency: 'daily', windowStartHour: 0, windowHours: 1, retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await waitFor('keep-last 1 to prune the first backup', async () => !(await backupsOf(id)).some((b) => b.id === b1.id), { timeoutMs: 180_000, intervalMs: 500 });
    await waitForState(customer, id, 'running', 60_000);
    assert.ok(!existsSync(fileOf(id, b1.id)), 'the pruned backup\'s file is gone from the store');
    assert.ok(existsSync(fileOf(id, b2.id)), 'the newest is kept');
    assert.ok((await backupsOf(id)).some((b) => b.id === b2.id && b.state === 'ready'));

    // delete the server: its backup stays, restorable into a new server; it boots and reads A
    assert.equal((await customer.call('DELETE', `/api/v1/servers/${id}`)).status, 202);
    await waitForState(customer, id, 'deleted', 120_000);
    const kept = await customer.ok<TenantBackupView[]>('GET', '/api/v1/backups?serverDeleted=true');
    assert.ok(kept.some((b) => b.id === b2.id && b.serverDeleted && b.graceExpiresAt), JSON.stringify(kept));
    const t1 = Date.now();
    const made = await customer.call('POST', `/api/v1/backups/${b2.id}/restore-to-new`, { hostname: 'from-backup.example.test', planId: plan.id, rootPassword: 'correct-horse-1' });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    const fresh = await waitForState(customer, (made.body as ServerView).id, 'running', 600_000);
    const newAddr = fresh.addresses[0]!.address;
    await waitForGuestHttp(ns, newAddr, 180_000);
    assert.equal((await guestGet(ns, newAddr, '/hostname'))?.trim(), 'from-backup', 'the new server has its own name (the guest shows the short name)');
    assert.equal(await guestRead(ns, newAddr, 'f'), 'A', 'the new server made from the deleted server\'s backup reads A');
    console.log(`[real-guest backups] restore into a new server: order -> running ${Date.now() - t1} ms`);

    // delete the deleted server's backup: through the node, the file is gone from the store
    const del = await customer.call('DELETE', `/api/v1/backups/${b2.id}`);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    await waitFor('the backup row to go', async () => !(await customer.ok<TenantBackupView[]>('GET', '/api/v1/backups')).some((b) => b.id === b2.id), { timeoutMs: 120_000, intervalMs: 250 });
    assert.ok(!existsSync(fileOf(id, b2.id)), 'the deleted server\'s backup file is gone from the store');
    assert.deepEqual(storeFiles(base), [], 'nothing of the deleted server is left on the store');
  });
  // Incremental backups through libvirt checkpoints (DESIGN.md "Incremental backups"): the second backup of a running
  // server moves only the clusters changed since the first; its restore (in place and into a new server) fetches the
  // chain, checks each file and flattens it; the parent cannot be deleted while the incremental needs it; after a
  // restore in place the next backup starts a new full chain.
  test('incremental: a small change moves far fewer bytes; the chain restores in place and into a new server; a new chain after the restore', async () => {
    const images = await customer.ok<{ id: string }[]>('GET', '/api/v1/images');
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId: images[0]!.id, locationId: stack.seed.locationId, hostname: 'incremental.example.test' });
    const server = await waitForState(customer, created.id, 'running', 180_000);
    const id = server.id;
    const addr = server.addresses[0]!.address;
    const ns = hv.netns;
    await waitForGuestHttp(ns, addr, 180_000);
    const checkpoints = async () => (await virsh(hv.uri, ['checkpoint-list', `oblako-${id}`, '--name'])).split('\n').map((l) => l.trim()).filter(Boolean);

    await guestWrite(ns, addr, 'f', 'A');
    // some data on the disk first (the guest's own is under 1 MiB): 4 MiB of random files, 96 KiB each (one curl argument)
    for (let i = 0; i < 42; i++) await guestWrite(ns, addr, `data-${i}`, randomBytes(48 * 1024).toString('hex'));
    const full = await backUp(id);
    assert.equal(full.state, 'ready', full.error ?? '');
    assert.equal(full.kind, 'full');
    assert.equal(full.parentId, null);
    assert.deepEqual(await checkpoints(), [`oblako-${full.id}`], 'the full backup left its checkpoint on the node');

    // a small change, then the next backup: incremental against the first, far fewer bytes
    await guestWrite(ns, addr, 'g', 'C'.repeat(4096));
    const inc = await backUp(id);
    assert.equal(inc.state, 'ready', inc.error ?? '');
    assert.equal(inc.kind, 'incremental', inc.fullReason ?? '');
    assert.equal(inc.parentId, full.id);
    console.log(`[real-guest backups] full backup ${full.sizeBytes} bytes moved, incremental after a 4 KiB file ${inc.sizeBytes} bytes moved (${(inc.sizeBytes / full.sizeBytes * 100).toFixed(1)} %)`);
    assert.ok(inc.sizeBytes * 5 < full.sizeBytes, `the incremental (${inc.sizeBytes} bytes) moves far fewer bytes than the full one (${full.sizeBytes})`);
    assert.equal(readFileSync(fileOf(id, inc.id)).length, inc.sizeBytes);
    assert.equal(sha256File(fileOf(id, inc.id)), inc.sha256);
    assert.deepEqual(await checkpoints(), [`oblako-${inc.id}`], 'the stale checkpoint of the first backup is removed');

    // the parent stays while the incremental needs it
    const refused = await customer.call('DELETE', `/api/v1/servers/${id}/backups/${full.id}`);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal((refused.body as { code: string }).code, 'backup_has_children');
    assert.ok(existsSync(fileOf(id, full.id)));

    // into a new server: the chain is fetched, checked and flattened; it reads both files
    const made = await customer.call('POST', `/api/v1/backups/${inc.id}/restore-to-new`, { hostname: 'from-incremental.example.test', planId: plan.id, rootPassword: 'correct-horse-1' });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    const fresh = await waitForState(customer, (made.body as ServerView).id, 'running', 600_000);
    const newAddr = fresh.addresses[0]!.address;
    await waitForGuestHttp(ns, newAddr, 180_000);
    assert.equal(await guestRead(ns, newAddr, 'f'), 'A', 'the new server made from the incremental reads A');
    assert.equal(await guestRead(ns, newAddr, 'g'), 'C'.repeat(4096), 'and the file written between the full and the incremental');

    // in place after a change: reads A and the small file again
    await guestWrite(ns, addr, 'f', 'B');
    const restoring = await customer.call('POST', `/api/v1/servers/${id}/backups/${inc.id}/restore`);
    assert.equal(restoring.status, 202, JSON.stringify(restoring.body));
    const restored = await waitFor('the restore of the incremental to end', async () => {
      const s = await customer.ok<ServerView>('GET', `/api/v1/servers/${id}`);
      return s.state === 'running' && s.currentTask?.op === 'backup_restore' && s.currentTask.state !== 'running' && s.currentTask.state !== 'queued' ? s : null;
    }, { timeoutMs: 600_000, intervalMs: 250 });
    assert.equal(restored.currentTask?.state, 'succeeded', restored.currentTask?.error ?? '');
    await waitForGuestHttp(ns, addr, 180_000);
    assert.equal(await guestRead(ns, addr, 'f'), 'A', 'after restoring the incremental in place the guest reads A');
    assert.equal(await guestRead(ns, addr, 'g'), 'C'.repeat(4096));
    assert.deepEqual(await checkpoints(), [], 'the replaced disk\'s checkpoints are gone');

    // the chain is in doubt after a restore: a new full chain, which says why
    const after = await backUp(id);
    assert.equal(after.state, 'ready', after.error ?? '');
    assert.equal(after.kind, 'full');
    assert.match(after.fullReason ?? '', /backup restore ran since the last backup/);
    assert.ok(after.sizeBytes > inc.sizeBytes * 5, `a full backup again (${after.sizeBytes} bytes)`);
  });
});
