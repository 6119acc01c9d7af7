/**
 * Backups in Chromium against the real stack (issue 12): staff configure a backup store (validation in the form and
 * from the API, edit, disable, delete with a typed confirmation) and see the node keys the store must trust; a
 * customer works with a server's backups on its page; staff find the failed ones.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { Page } from 'playwright-core';
import type { ServerView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import { byTestId, CUSTOMER_PASSWORD, logIn, newPage, registerCustomer, shot, staffPage, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';

async function runningServer(api: ApiClient, hostname: string): Promise<ServerView> {
  const seed = b.stack.seed;
  const s = await api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
  return waitForState(api, s.id, 'running');
}

/** The server page's Backups section as the customer sees it. */
const backupRow = (page: Page, state: string) => page.locator(`[data-testid="backup-row"][data-state="${state}"]`);

describe('backups', () => {
  test('staff add a backup store (the form and the API say what is wrong), edit it, disable it and delete it; node keys are listed', async () => {
    const page = await staffPage(b);
    await page.goto('/admin/backup-stores');
    await byTestId(page, 'backup-stores-page').waitFor();
    await byTestId(page, 'backup-store-add').click();
    const field = (id: string) => page.locator(`[data-testid="${id}"]`);
    await field('backup-store-name').fill('fra1-store');
    await field('backup-store-host').fill('store.example.net');
    await field('backup-store-path').fill('relative/path');
    await byTestId(page, 'backup-store-submit').click();
    const problems = await byTestId(page, 'backup-store-problems').innerText();
    assert.match(problems, /absolute path/);
    assert.match(problems, /host key/);
    // the API has the last word: a key scanned from another host is refused with what to do
    await field('backup-store-path').fill('/srv/oblako-backups');
    await field('backup-store-hostkey').fill(`other.example.net ${KEY}`);
    await byTestId(page, 'backup-store-submit').click();
    await waitFor('the API\'s refusal', async () => /the store is store.example.net/.test(await byTestId(page, 'backup-store-error').innerText().catch(() => '')), { timeoutMs: 10_000 }).catch(async (e) => { throw new Error(`${e.message}: ${await byTestId(page, 'backup-store-form').innerText()}`); });
    await field('backup-store-hostkey').fill(`store.example.net ${KEY}`);
    await byTestId(page, 'backup-store-submit').click();
    const row = page.locator('[data-testid="backup-store-row"][data-name="fra1-store"]');
    await row.waitFor();
    assert.match(await row.innerText(), /oblako@store\.example\.net:22/);
    assert.match(await row.innerText(), /SHA256:/);
    const keys = byTestId(page, 'backup-node-keys');
    await keys.waitFor();
    assert.ok((await page.locator('[data-testid="backup-node-key-row"]').count()) >= 1, 'the stack\'s node is listed');
    await shot(page, '42-admin-backup-stores');

    // edit: another port; the pinned key follows it
    await row.locator('[data-testid="backup-store-edit"]').click();
    await field('backup-store-port').fill('2222');
    await byTestId(page, 'backup-store-submit').click();
    await waitFor('the new port', async () => /:2222/.test(await row.innerText()));
    const stores = await b.admin.ok<{ name: string; hostKey: string; enabled: boolean }[]>('GET', '/api/v1/admin/backup-stores');
    assert.equal(stores.find((s) => s.name === 'fra1-store')?.hostKey, `[store.example.net]:2222 ${KEY}`);

    // disable asks first
    await row.locator('[data-testid="backup-store-toggle"]').click();
    await byTestId(page, 'confirm-submit').click();
    await waitFor('disabled', async () => (await row.getAttribute('data-enabled')) === 'false');
    assert.equal((await b.admin.ok<{ name: string; enabled: boolean }[]>('GET', '/api/v1/admin/backup-stores')).find((s) => s.name === 'fra1-store')?.enabled, false);

    // delete wants the name typed
    await row.locator('[data-testid="backup-store-delete"]').click();
    assert.equal(await byTestId(page, 'confirm-submit').isDisabled(), true);
    await byTestId(page, 'confirm-input').fill('fra1-store');
    await byTestId(page, 'confirm-submit').click();
    await row.waitFor({ state: 'detached' });
    await page.reload();
    await byTestId(page, 'backup-stores-page').waitFor();
    assert.equal(await row.count(), 0, 'gone after a reload too');
    await page.context().close();
  });

  test('a customer sets a weekly backup window and retention on the server page; the form names what is wrong', async () => {
    const c = await registerCustomer(b, 'sched', { uniqueTenant: true });
    const server = await runningServer(c.api, 'sched-web-1');
    const page = await newPage(b);
    await logIn(page, c.email, CUSTOMER_PASSWORD);
    await page.goto(`/servers/${server.id}`);
    const summary = byTestId(page, 'backup-schedule-summary');
    await waitFor('the schedule to load', async () => /not set up yet/.test(await summary.innerText().catch(() => '')));
    await byTestId(page, 'schedule-enabled').check();
    await byTestId(page, 'schedule-frequency').selectOption('weekly');
    await byTestId(page, 'schedule-weekday').selectOption('0');
    await byTestId(page, 'schedule-start').fill('23');
    await byTestId(page, 'schedule-hours').fill('30');
    await byTestId(page, 'retention-last').fill('0');
    await byTestId(page, 'schedule-save').click();
    const problems = await byTestId(page, 'schedule-problems').innerText();
    assert.match(problems, /Window length \(hours\): enter a whole number from 1 to 23/);
    assert.match(problems, /Keep the last: enter a whole number from 1 to 30/);
    await byTestId(page, 'schedule-hours').fill('3');
    await byTestId(page, 'retention-last').fill('5');
    await byTestId(page, 'schedule-save').click();
    await waitFor('the saved schedule', async () => /Sundays, 23:00–02:00 UTC/.test(await summary.innerText()));
    assert.match(await summary.innerText(), /keeps the last 5/);
    const saved = await c.api.ok<{ enabled: boolean; frequency: string; weekday: number; windowHours: number; retention: { keepLast: number } }>('GET', `/api/v1/servers/${server.id}/backup-schedule`);
    assert.deepEqual([saved.enabled, saved.frequency, saved.weekday, saved.windowHours, saved.retention.keepLast], [true, 'weekly', 0, 3, 5]);
    await page.reload();
    await waitFor('the schedule after a reload', async () => /Sundays, 23:00–02:00 UTC/.test(await byTestId(page, 'backup-schedule-summary').innerText().catch(() => '')));
    await page.context().close();
  });

  test('the server page\'s Backups: Back up now without a store says why; a backup runs like any task and its failure says why; a ready one shows size, time and checksum; restore and delete ask first; staff find the failed backup', async () => {
    const c = await registerCustomer(b, 'bkui', { uniqueTenant: true });
    const server = await runningServer(c.api, 'bkui-web-1');
    const page = await newPage(b);
    await logIn(page, c.email, CUSTOMER_PASSWORD);
    await page.goto(`/servers/${server.id}`);
    await byTestId(page, 'backups-empty').waitFor();

    // no enabled store in the location: a clear message, and nothing changed
    await byTestId(page, 'backup-now').click();
    await waitFor('the refusal', async () => /cannot be taken in .+ yet: your provider has not set up a backup store there/.test(await byTestId(page, 'backup-error').innerText().catch(() => '')));
    assert.equal((await c.api.ok<ServerView>('GET', `/api/v1/servers/${server.id}`)).state, 'running');
    assert.equal(await byTestId(page, 'backup-row').count(), 0);

    // with a store the backup runs as a task; this stack's node (libvirt's test driver) takes no backups, so it fails and says why
    const store = await b.admin.ok<{ id: string }>('POST', '/api/v1/admin/backup-stores', {
      locationId: b.stack.seed.locationId, name: 'bkui-store', host: 'store.example.net', port: 22, username: 'oblako', basePath: '/srv/oblako-backups', hostKey: `store.example.net ${KEY}`,
    });
    await byTestId(page, 'backup-now').click();
    const failed = backupRow(page, 'failed');
    await failed.waitFor({ timeout: 30_000 });
    assert.match(await failed.locator('[data-testid="backup-failure"]').innerText(), /this node takes no backups/);
    assert.match(await failed.innerText(), /manual/);
    await page.locator('[data-testid="task-row"][data-op="backup_create"][data-state="failed"]').waitFor();
    assert.equal(await byTestId(page, 'backup-error').count(), 0, 'no error banner: the failure is on the backup');

    // a ready backup, as a node with disks records one (this node cannot make one): the row shows what it recorded
    const sha = 'c0ffee'.padEnd(64, '0');
    const db = new pg.Client({ connectionString: b.stack.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO backups (tenant_id, server_id, server_name, store_id, node_id, state, kind, trigger, size_bytes, bytes_moved, sha256, duration_ms, created_at, finished_at)
         SELECT tenant_id, id, hostname, $2, node_id, 'ready', 'full', 'scheduled', 123456789, 123456789, $3, 185000, now() - interval '1 hour', now() - interval '57 minutes' FROM servers WHERE id = $1`,
        [server.id, store.id, sha],
      );
    } finally {
      await db.end();
    }
    await page.reload();
    const ready = backupRow(page, 'ready');
    await ready.waitFor();
    assert.equal(await ready.getAttribute('data-trigger'), 'scheduled');
    assert.equal((await ready.locator('[data-testid="backup-kind"]').innerText()).trim(), 'full', 'what kind of backup it is');
    assert.equal((await ready.locator('[data-testid="backup-size"]').innerText()).trim(), '118 MiB');
    assert.equal((await ready.locator('[data-testid="backup-duration"]').innerText()).trim(), '3 min 5 s');
    const shaCell = ready.locator('[data-testid="backup-sha"]');
    assert.equal((await shaCell.innerText()).trim(), 'c0ffee000000…');
    assert.equal(await shaCell.getAttribute('title'), sha, 'the full checksum on hover');
    assert.equal(await failed.locator('[data-testid="backup-restore"]').isDisabled(), true, 'a failed backup cannot be restored');
    await byTestId(page, 'server-backups').scrollIntoViewIfNeeded();
    await shot(page, '55-server-backups');

    // delete asks first; cancelling starts nothing
    await ready.locator('[data-testid="backup-delete"]').click();
    assert.match(await page.locator('mat-dialog-container').innerText(), /removed from the backup store; it cannot be restored any more/);
    await byTestId(page, 'confirm-cancel').click();
    await page.locator('mat-dialog-container').waitFor({ state: 'detached' });
    assert.equal((await c.api.ok<{ op: string }[]>('GET', `/api/v1/servers/${server.id}/tasks`)).some((t) => t.op === 'backup_delete'), false);

    // restore in place says the server is stopped and its disk replaced; confirmed, it runs as a task (restoring) and, on this node, fails and says why
    await ready.locator('[data-testid="backup-restore"]').click();
    const dialog = await page.locator('mat-dialog-container').innerText();
    assert.match(dialog, /bkui-web-1 is stopped and its disk is replaced by this backup/);
    assert.match(dialog, /addresses, name and settings stay/);
    assert.match(dialog, /started again afterwards/);
    await byTestId(page, 'confirm-submit').click();
    const restoreTask = page.locator('[data-testid="task-row"][data-op="backup_restore"]');
    await restoreTask.first().waitFor();
    await page.locator('[data-testid="task-row"][data-op="backup_restore"][data-state="failed"]').waitFor({ timeout: 30_000 });
    assert.match(await restoreTask.first().innerText(), /this node takes no backups/);
    await waitFor('the server back where it was', async () => (await byTestId(page, 'server-state').getAttribute('data-state')) === 'running');
    assert.equal(await backupRow(page, 'ready').count(), 1, 'the backup is still there');
    await page.context().close();

    // staff: the failed backup among the failed tasks, with its reason
    const staff = await staffPage(b);
    await staff.goto('/admin/tasks');
    await byTestId(staff, 'failed-tasks-page').waitFor();
    await byTestId(staff, 'failed-tasks-state').click();
    await staff.locator('mat-option', { hasText: 'failed backups' }).click();
    await staff.locator('h1', { hasText: 'Failed backups' }).waitFor();
    const rows = staff.locator('[data-testid="failed-task-row"]');
    await rows.first().waitFor();
    const ops = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-op')));
    assert.ok(ops.length >= 1 && ops.every((o) => o === 'backup_create'), `only backups: ${ops.join(', ')}`);
    const mine = staff.locator('[data-testid="failed-task-row"][data-hostname="bkui-web-1"]');
    assert.match(await mine.locator('[data-testid="failed-task-error"]').innerText(), /this node takes no backups/);
    assert.match(await mine.innerText(), /bkui Hosting/);
    await shot(staff, '56-admin-failed-backups');
    await staff.context().close();
  });

  test('backups of deleted servers: listed with the server, when and until when; restore into a new server asks for a plan that holds the disk and a login, then opens the new server', async () => {
    const c = await registerCustomer(b, 'bkdel', { uniqueTenant: true });
    const other = await registerCustomer(b, 'bkdel-other', { uniqueTenant: true });
    const server = await runningServer(c.api, 'gone-web-1');
    const store = await b.admin.ok<{ id: string }>('POST', '/api/v1/admin/backup-stores', {
      locationId: b.stack.seed.locationId, name: 'bkdel-store', host: 'store2.example.net', port: 22, username: 'oblako', basePath: '/srv/oblako-backups', hostKey: `store2.example.net ${KEY}`,
    });
    // a ready backup of a 40 GiB disk, as a node with disks records one (this stack's node cannot make one)
    const db = new pg.Client({ connectionString: b.stack.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO backups (tenant_id, server_id, server_name, store_id, node_id, state, kind, trigger, size_bytes, virtual_size_bytes, bytes_moved, sha256, duration_ms, created_at, finished_at)
         SELECT tenant_id, id, hostname, $2, node_id, 'ready', 'full', 'manual', 3221225472, 42949672960, 3221225472, $3, 61000, now() - interval '2 hours', now() - interval '2 hours' FROM servers WHERE id = $1`,
        [server.id, store.id, 'ab'.repeat(32)],
      );
    } finally {
      await db.end();
    }
    await c.api.ok('DELETE', `/api/v1/servers/${server.id}`);
    await waitFor('the server deleted', async () => (await c.api.ok<ServerView>('GET', `/api/v1/servers/${server.id}`)).state === 'deleted', { timeoutMs: 30_000 });
    const listed = await c.api.ok<{ id: string; graceExpiresAt: string | null }[]>('GET', '/api/v1/backups?serverDeleted=true');
    assert.equal(listed.length, 1);
    const expires = new Date(listed[0]!.graceExpiresAt ?? 0).getTime();
    assert.ok(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 3_600_000, `kept for the default 7 days: ${listed[0]!.graceExpiresAt}`);
    assert.deepEqual(await other.api.ok('GET', '/api/v1/backups?serverDeleted=true'), [], 'another team sees none of it');

    const page = await newPage(b);
    await logIn(page, c.email, CUSTOMER_PASSWORD);
    await byTestId(page, 'nav-deleted-servers').click();
    await byTestId(page, 'deleted-backups-page').waitFor();
    const row = page.locator('[data-testid="deleted-backup-row"][data-server="gone-web-1"]');
    await row.waitFor();
    assert.match(await row.innerText(), /3\.0 GiB/);
    assert.notEqual((await row.locator('[data-testid="deleted-backup-expires"]').innerText()).trim(), '—');
    await shot(page, '57-deleted-server-backups');

    await row.locator('[data-testid="deleted-backup-restore"]').click();
    const dialog = page.locator('mat-dialog-container');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /backup of gone-web-1/);
    assert.equal(await byTestId(page, 'restore-new-plan-Small').isDisabled(), true, 'a 20 GiB plan cannot hold a 40 GiB disk');
    assert.match(await dialog.innerText(), /Small .* not possible: its 20 GiB disk is smaller than the backup's 40\.0 GiB/);
    assert.equal(await byTestId(page, 'restore-new-plan-Medium').isChecked(), true, 'the first plan that fits is chosen');
    assert.equal(await byTestId(page, 'restore-new-hostname').inputValue(), 'gone-web-1-restored');
    await shot(page, '58-restore-into-new-server');
    // no key and no password: the dialog says how to fix it
    await byTestId(page, 'restore-new-submit').click();
    assert.match(await byTestId(page, 'restore-new-problem').innerText(), /SSH key or set a root password/);
    await byTestId(page, 'restore-new-root-password-input').fill('restored-root-pw-42');
    await byTestId(page, 'restore-new-root-password-again').fill('restored-root-pw-42');
    await byTestId(page, 'restore-new-submit').click();
    // the new server's page: it is being created from the backup, in the backup's location
    await page.waitForURL((u) => /^\/servers\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(server.id));
    await waitFor('the new host name', async () => (await byTestId(page, 'server-hostname').innerText().catch(() => '')) === 'gone-web-1-restored');
    const newId = page.url().split('/').at(-1)!;
    const created = await c.api.ok<ServerView & { restoredFromBackupId?: string }>('GET', `/api/v1/servers/${newId}`);
    assert.equal(created.plan.name, 'Medium');
    assert.equal(created.location.id, b.stack.seed.locationId);
    const [createTask] = await c.api.ok<{ op: string }[]>('GET', `/api/v1/servers/${newId}/tasks`);
    assert.equal(createTask?.op, 'create');

    // delete asks first; confirmed, the backup is deleting until a node of its location confirms
    await page.goto('/deleted-servers');
    await row.waitFor();
    await row.locator('[data-testid="deleted-backup-delete"]').click();
    assert.match(await page.locator('mat-dialog-container').innerText(), /removed from the backup store for good; gone-web-1 cannot be restored from it any more/);
    await byTestId(page, 'confirm-submit').click();
    // the customer's delete is audited and sent to a node of the store's location, which answers (this stack's node takes no backups, so it refuses and the backup stays)
    const audit = new pg.Client({ connectionString: b.stack.databaseUrl });
    await audit.connect();
    try {
      await waitFor('the delete asked and answered', async () => {
        const rows: { action: string; actor_kind: string }[] = (await audit.query(`SELECT action, actor_kind FROM audit_log WHERE target_id = $1 AND action LIKE 'backup.delete%' ORDER BY id`, [listed[0]!.id])).rows;
        return rows.length >= 2 ? rows : undefined;
      }, { timeoutMs: 20_000 }).then((rows) => assert.deepEqual(rows.map((r) => r.action), ['backup.delete', 'backup.delete_failed']));
    } finally {
      await audit.end();
    }
    await waitFor('the row back to ready after the refusal', async () => (await row.getAttribute('data-state')) === 'ready', { timeoutMs: 15_000 });
    await page.context().close();
  });

  test('a live server\'s backup restores into a new server from the server page: a plan that holds the disk, a login, the API\'s refusal shown; the server itself is untouched', async () => {
    const c = await registerCustomer(b, 'bknew', { uniqueTenant: true });
    const server = await runningServer(c.api, 'live-web-1');
    const storeName = uniqueName('bknew-store');
    const store = await b.admin.ok<{ id: string }>('POST', '/api/v1/admin/backup-stores', {
      locationId: b.stack.seed.locationId, name: storeName, host: 'store3.example.net', port: 22, username: 'oblako', basePath: '/srv/oblako-backups', hostKey: `store3.example.net ${KEY}`,
    });
    // a ready backup of a 40 GiB disk and a failed one, as a node with disks records them (this stack's node cannot make one)
    const db = new pg.Client({ connectionString: b.stack.databaseUrl });
    await db.connect();
    let readyId = '';
    try {
      readyId = (await db.query(
        `INSERT INTO backups (tenant_id, server_id, server_name, store_id, node_id, state, kind, trigger, size_bytes, virtual_size_bytes, bytes_moved, sha256, duration_ms, created_at, finished_at)
         SELECT tenant_id, id, hostname, $2, node_id, 'ready', 'full', 'manual', 2147483648, 42949672960, 2147483648, $3, 42000, now() - interval '3 hours', now() - interval '3 hours' FROM servers WHERE id = $1 RETURNING id`,
        [server.id, store.id, 'cd'.repeat(32)],
      )).rows[0].id;
      await db.query(
        `INSERT INTO backups (tenant_id, server_id, server_name, store_id, node_id, state, kind, trigger, error, created_at, finished_at)
         SELECT tenant_id, id, hostname, $2, node_id, 'failed', 'full', 'scheduled', 'store_unreachable: Connection refused', now() - interval '2 hours', now() - interval '2 hours' FROM servers WHERE id = $1`,
        [server.id, store.id],
      );
    } finally {
      await db.end();
    }
    const page = await newPage(b);
    await logIn(page, c.email, CUSTOMER_PASSWORD);
    await page.goto(`/servers/${server.id}`);
    const ready = backupRow(page, 'ready');
    await ready.waitFor();
    assert.equal(await backupRow(page, 'failed').locator('[data-testid="backup-restore-new"]').isDisabled(), true, 'a failed backup cannot be restored into a new server either');

    // the API has the last word: the backup stopped being ready while the dialog was open, and the section says so
    await ready.locator('[data-testid="backup-restore-new"]').click();
    const dialog = page.locator('mat-dialog-container');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), new RegExp(`backup of live-web-1 .*in ${server.location.name}, where the backup is kept`));
    assert.equal(await byTestId(page, 'restore-new-plan-Small').isDisabled(), true, 'a 20 GiB plan cannot hold a 40 GiB disk');
    assert.equal(await byTestId(page, 'restore-new-plan-Medium').isChecked(), true, 'the first plan that fits is chosen');
    assert.equal(await byTestId(page, 'restore-new-hostname').inputValue(), 'live-web-1-restored');
    await byTestId(page, 'restore-new-root-password-input').fill('restored-root-pw-42');
    await byTestId(page, 'restore-new-root-password-again').fill('restored-root-pw-42');
    await shot(page, '61-restore-live-backup-into-new-server');
    const db2 = new pg.Client({ connectionString: b.stack.databaseUrl });
    await db2.connect();
    try {
      await db2.query(`UPDATE backups SET state = 'deleting' WHERE id = $1`, [readyId]);
      await byTestId(page, 'restore-new-submit').click();
      await waitFor('the refusal', async () => /only a ready backup can be restored/.test(await byTestId(page, 'backup-error').innerText().catch(() => '')), { timeoutMs: 15_000 });
      assert.equal(new URL(page.url()).pathname, `/servers/${server.id}`, 'still on the server\'s page');
      assert.equal((await c.api.ok<{ items: ServerView[] }>('GET', '/api/v1/servers')).items.length, 1, 'no server ordered');
      await db2.query(`UPDATE backups SET state = 'ready' WHERE id = $1`, [readyId]);
    } finally {
      await db2.end();
    }
    await page.reload();
    await ready.waitFor();

    // confirmed: the new server's page, created from the backup in its location; the backed-up server runs on as it was
    await ready.locator('[data-testid="backup-restore-new"]').click();
    await dialog.waitFor();
    await byTestId(page, 'restore-new-plan-Large').check();
    await byTestId(page, 'restore-new-root-password-input').fill('restored-root-pw-42');
    await byTestId(page, 'restore-new-root-password-again').fill('restored-root-pw-42');
    await byTestId(page, 'restore-new-submit').click();
    await page.waitForURL((u) => /^\/servers\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(server.id));
    await waitFor('the new host name', async () => (await byTestId(page, 'server-hostname').innerText().catch(() => '')) === 'live-web-1-restored');
    const newId = page.url().split('/').at(-1)!;
    const created = await c.api.ok<ServerView>('GET', `/api/v1/servers/${newId}`);
    assert.equal(created.plan.name, 'Large');
    assert.equal(created.location.id, server.location.id);
    const [createTask] = await c.api.ok<{ op: string }[]>('GET', `/api/v1/servers/${newId}/tasks`);
    assert.equal(createTask?.op, 'create');
    assert.equal((await c.api.ok<ServerView>('GET', `/api/v1/servers/${server.id}`)).state, 'running', 'the backed-up server is not touched');
    assert.deepEqual((await c.api.ok<{ op: string }[]>('GET', `/api/v1/servers/${server.id}/tasks`)).map((t) => t.op), ['create'], 'no task ran on it');
    await page.context().close();

    // staff see what the store holds: both backups counted, the ready one's 2 GiB used
    const staff = await staffPage(b);
    await staff.goto('/admin/backup-stores');
    const storeRow = staff.locator(`[data-testid="backup-store-row"][data-name="${storeName}"]`);
    await storeRow.waitFor();
    assert.equal((await storeRow.locator('[data-testid="backup-store-count"]').innerText()).trim(), '2');
    assert.equal(await storeRow.locator('[data-testid="backup-store-count"]').getAttribute('title'), '1 ready, 1 being made, failed or deleting');
    assert.equal((await storeRow.locator('[data-testid="backup-store-used"]').innerText()).trim(), '2.0 GiB');
    await staff.context().close();
  });

  test('staff see the scheduled backups that did not start in their last window, with the reason, next to the failed backups', async () => {
    const c = await registerCustomer(b, 'bkns', { uniqueTenant: true });
    const server = await runningServer(c.api, 'nostart-web-1');
    // a window open now; the server is held by staff (suspended), so the scheduler cannot start its backup
    await c.api.ok('PUT', `/api/v1/servers/${server.id}/backup-schedule`, {
      enabled: true, frequency: 'daily', windowStartHour: new Date().getUTCHours(), windowHours: 2, retention: { keepLast: 3, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    });
    await b.admin.ok('POST', `/api/v1/admin/servers/${server.id}/suspend`, { reason: 'test: a backup that cannot start' });
    await waitForState(c.api, server.id, 'suspended', 30_000);
    // the stack's scheduler sweeps every 30 s
    const reason = await waitFor('the window claimed and refused', async () => (await c.api.ok<{ lastError: string | null }>('GET', `/api/v1/servers/${server.id}/backup-schedule`)).lastError ?? undefined, { timeoutMs: 75_000 });
    assert.match(reason, /suspended/);

    const staff = await staffPage(b);
    await staff.goto('/admin/tasks');
    await byTestId(staff, 'failed-tasks-page').waitFor();
    assert.equal(await byTestId(staff, 'not-started-backups').count(), 0, 'not with all failed tasks');
    await byTestId(staff, 'failed-tasks-state').click();
    await staff.locator('mat-option', { hasText: 'failed backups' }).click();
    const row = staff.locator('[data-testid="not-started-row"][data-hostname="nostart-web-1"]');
    await row.waitFor();
    assert.equal((await row.locator('[data-testid="not-started-reason"]').innerText()).trim(), reason, 'the scheduler\'s own reason');
    assert.match(await row.innerText(), /bkns Hosting/);
    assert.match(await row.innerText(), /suspended/);
    await byTestId(staff, 'not-started-backups').scrollIntoViewIfNeeded();
    await shot(staff, '62-admin-backups-not-started');
    // the customer is not staff: the list is not theirs to read
    const refused = await c.api.call('GET', '/api/v1/admin/backups/not-started');
    assert.equal(refused.status, 403);
    await staff.context().close();
    await b.admin.ok('POST', `/api/v1/admin/servers/${server.id}/unsuspend`, { reason: 'test done' });
  });

  test('the server page\'s Snapshots: Take wants a name; a snapshot runs as a task and the list is read again when it ends (gone when the node refuses it; ready, with Revert asking first, when it succeeds)', async () => {
    const c = await registerCustomer(b, 'snapui', { uniqueTenant: true });
    const server = await runningServer(c.api, 'snapui-web-1');
    const page = await newPage(b);
    await logIn(page, c.email, CUSTOMER_PASSWORD);
    await page.goto(`/servers/${server.id}`);
    await byTestId(page, 'snapshots-empty').waitFor();
    assert.equal(await byTestId(page, 'snapshot-take').isDisabled(), true, 'no name, no snapshot');
    await byTestId(page, 'snapshot-name').fill('before-upgrade');
    await byTestId(page, 'snapshot-take').click();
    // the task is followed like any other, and the section reads its list again when the task ends: this stack's
    // node (libvirt's test driver, reached by virsh in another process) cannot snapshot, so the row goes again
    const task = page.locator('[data-testid="task-row"][data-op="snapshot_create"]');
    await task.first().waitFor({ timeout: 30_000 });
    // the outcome is the API's (the task as it ended), and the panel's row must come to say the same: reading the
    // first row's attribute once sent this test down the success branch with no snapshot in the API (1 of the
    // fresh-clone suite)
    type TaskRow = { id: string; op: string; state: string; error?: string | null };
    const apiTask = await waitFor('the snapshot task to end', async () => {
      const t = (await c.api.ok<TaskRow[]>('GET', `/api/v1/servers/${server.id}/tasks`)).find((x) => x.op === 'snapshot_create');
      return t && (t.state === 'failed' || t.state === 'succeeded') ? t : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    const ended = apiTask.state;
    await page.locator(`[data-testid="task-row"][data-op="snapshot_create"][data-state="${ended}"]`).first().waitFor({ timeout: 15_000 });
    const snaps = await c.api.ok<{ name: string; state: string }[]>('GET', `/api/v1/servers/${server.id}/snapshots`);
    const why = `task ${JSON.stringify(apiTask)}, snapshots ${JSON.stringify(snaps)}`;
    if (ended === 'failed') {
      assert.deepEqual(snaps, [], `a refused snapshot leaves no row (${why})`);
      await byTestId(page, 'snapshots-empty').waitFor({ timeout: 15_000 });
    } else {
      assert.deepEqual(snaps.map((x) => [x.name, x.state]), [['before-upgrade', 'ready']], why);
      await page.locator('[data-testid="snapshot-row"][data-name="before-upgrade"][data-state="ready"]').waitFor({ timeout: 15_000 });
      // revert asks first; cancelled, nothing starts
      await page.locator('[data-testid="snapshot-row"][data-name="before-upgrade"] [data-testid="snapshot-revert"]').click();
      assert.match(await page.locator('mat-dialog-container').innerText(), /Revert to .before-upgrade.\?/);
      await byTestId(page, 'confirm-cancel').click();
      await page.locator('mat-dialog-container').waitFor({ state: 'detached' });
      assert.equal((await c.api.ok<{ op: string }[]>('GET', `/api/v1/servers/${server.id}/tasks`)).some((t) => t.op === 'snapshot_revert'), false);
    }
    assert.equal(await byTestId(page, 'snapshot-error').count(), 0, 'no error banner: the task says how it went');
    assert.equal(await byTestId(page, 'snapshot-name').inputValue(), '', 'the name field is cleared once the task started');
    await page.context().close();
  });

  test('staff set how long a deleted server\'s backups are kept', async () => {
    const page = await staffPage(b);
    await page.goto('/admin/settings');
    const days = byTestId(page, 'backup-grace-days');
    await waitFor('the default of 7 days', async () => (await days.inputValue().catch(() => '')) === '7');
    await days.fill('-3');
    await byTestId(page, 'backup-grace-save').click();
    await waitFor('the form\'s refusal', async () => /from 0 to 365/.test(await byTestId(page, 'backup-settings-error').innerText().catch(() => '')));
    await days.fill('30');
    await byTestId(page, 'backup-grace-save').click();
    await waitFor('saved', async () => (await b.admin.ok<{ deletedServerGraceDays: number }>('GET', '/api/v1/admin/settings/backups')).deletedServerGraceDays === 30);
    await page.context().close();
  });
});
