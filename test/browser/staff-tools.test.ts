/**
 * The staff tools of issue 15 in Chromium against the real stack: a plan's price edited and seen in
 * the order flow (and retiring asks first), a tenant suspended (the customer's banner with the
 * reason, no order button), a failed task retried, an empty pool deleted, names instead of ids,
 * the node page and the offline alert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { ServerView, TaskView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import { byTestId, CUSTOMER_PASSWORD, logIn, newPage, registerCustomer, shot, staffPage, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  // Tasks with no word from their node fail after 2 s: how the retry test gets a failed task.
  b = await startBrowserE2E({ apiEnv: { TASK_TIMEOUT_SECONDS: '2' } });
});
after(async () => {
  await b?.close();
});

async function confirmWithReason(page: Page, reason: string, typed?: string): Promise<void> {
  await byTestId(page, 'confirm-reason').waitFor();
  if (typed !== undefined) await byTestId(page, 'confirm-input').fill(typed);
  await byTestId(page, 'confirm-reason').fill(reason);
  await byTestId(page, 'confirm-submit').click();
  await byTestId(page, 'confirm-submit').waitFor({ state: 'detached' });
}

function order(api: ApiClient, hostname: string): Promise<ServerView> {
  const seed = b.stack.seed;
  return api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
}

describe('staff tools', () => {
  test("a plan's new price shows in the order flow; retiring a plan asks first", async () => {
    const page = await staffPage(b);
    await page.goto('/admin/plans');
    const row = page.locator('[data-testid="admin-plan-row"][data-name="Medium"]');
    await row.locator('[data-testid="plan-edit"]').click();
    await page.locator('input[data-testid="plan-price"]').fill('12.34');
    await byTestId(page, 'plan-submit').click();
    await byTestId(page, 'plan-form').waitFor({ state: 'detached' });
    // the saved row replaces the old one in the table, so read it once it is there
    await waitFor('the plan row to show the new price', async () => /€12\.34/.test(await row.innerText()), { timeoutMs: 5000, intervalMs: 50 });
    await waitFor('the live region to say it', async () => /was saved/.test(await byTestId(page, 'live-region').innerText()));

    // retiring asks first; cancelling leaves it offered
    await row.locator('[data-testid="plan-toggle"]').click();
    await byTestId(page, 'confirm-cancel').click();
    assert.match(await row.innerText(), /offered/i);

    // a plan name that is too long is refused in words about the name
    await byTestId(page, 'plan-add-toggle').click();
    await page.locator('input[data-testid="plan-name"]').fill('n'.repeat(130));
    await byTestId(page, 'plan-submit').click();
    assert.match(await byTestId(page, 'plan-error').innerText(), /name is at most 120 characters/i);
    await page.context().close();

    const c = await registerCustomer(b, 'price', { uniqueTenant: true });
    const cp = await newPage(b);
    await logIn(cp, c.email, CUSTOMER_PASSWORD);
    await cp.goto('/order');
    await byTestId(cp, 'order-location').first().click();
    await byTestId(cp, 'order-next-location').click();
    // the plan step slides in after the click; its text is there once it is shown
    const medium = cp.locator('[data-testid="order-plan"][data-name="Medium"]');
    await waitFor('the order flow to show the new price', async () => /€12\.34/.test(await medium.innerText()), { timeoutMs: 5000, intervalMs: 50 });
    await cp.context().close();
  });

  test("a suspended team sees the banner with the reason and no order button; staff see the state", async () => {
    const c = await registerCustomer(b, 'suspended', { uniqueTenant: true });
    const page = await staffPage(b);
    await page.goto('/admin/tenants');
    const row = page.locator(`[data-testid="tenant-row"][data-name="${c.tenant}"]`);
    await row.locator('[data-testid="tenant-suspend"]').click();
    await confirmWithReason(page, 'unpaid invoice 1042');
    await row.locator('[data-testid="tenant-state"][data-state="suspended"]').waitFor();
    assert.match(await row.innerText(), /unpaid invoice 1042/);
    await shot(page, '32-admin-tenant-suspended');

    const cp = await newPage(b);
    await logIn(cp, c.email, CUSTOMER_PASSWORD);
    await cp.goto('/servers');
    await byTestId(cp, 'suspended-banner').waitFor();
    assert.match(await byTestId(cp, 'suspended-banner').innerText(), /suspended.*unpaid invoice 1042/s);
    assert.equal(await byTestId(cp, 'order-server').count(), 0, 'no order button');
    assert.equal(await byTestId(cp, 'order-first-server').count(), 0, 'no order button in the empty list');
    assert.equal(await byTestId(cp, 'nav-order').count(), 0, 'no order link in the menu');
    await cp.goto('/order');
    await byTestId(cp, 'order-suspended').waitFor();
    await shot(cp, '33-customer-suspended');

    await row.locator('[data-testid="tenant-unsuspend"]').click();
    await confirmWithReason(page, 'paid');
    await row.locator('[data-testid="tenant-state"][data-state="active"]').waitFor();
    await cp.goto('/servers');
    await byTestId(cp, 'order-server').or(byTestId(cp, 'order-first-server')).first().waitFor();
    assert.equal(await byTestId(cp, 'suspended-banner').count(), 0);
    await page.context().close();
    await cp.context().close();
  });

  test('staff retry a failed task from the failed-tasks page; names, not ids, and the audit entry', async () => {
    const c = await registerCustomer(b, 'retry', { uniqueTenant: true });
    const server = await order(c.api, 'retry-1.example');
    await waitForState(c.api, server.id, 'running');
    // The node goes quiet (its daemon frozen, so the test driver's domains survive): the reboot
    // gets no answer and fails on the 2 s timeout; then the daemon thaws.
    const daemon = b.stack.daemon!.child;
    daemon.kill('SIGSTOP');
    await c.api.ok('POST', `/api/v1/servers/${server.id}/actions`, { action: 'reboot' });
    await waitFor('the reboot to fail', async () => {
      const tasks = await c.api.ok<TaskView[]>('GET', `/api/v1/servers/${server.id}/tasks`);
      return tasks[0]?.op === 'reboot' && tasks[0].state === 'failed';
    }, { timeoutMs: 20_000 }).finally(() => daemon.kill('SIGCONT'));

    const page = await staffPage(b);
    await page.goto('/admin/tasks');
    const row = page.locator('[data-testid="failed-task-row"][data-hostname="retry-1.example"][data-op="reboot"]');
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, new RegExp(c.tenant), 'the team by name');
    assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'no UUIDs in the row');
    assert.match(await row.locator('[data-testid="failed-task-error"]').innerText(), /timeout/);
    await shot(page, '34-admin-failed-tasks');
    await row.locator('[data-testid="task-retry"]').click();
    await confirmWithReason(page, 'node back after restart');
    try {
      await waitFor('the retried reboot to succeed', async () => {
        const tasks = await c.api.ok<TaskView[]>('GET', `/api/v1/servers/${server.id}/tasks`);
        return tasks[0]?.op === 'reboot' && tasks[0].state === 'succeeded' ? tasks : undefined;
      }, { timeoutMs: 20_000 });
    } catch (err) {
      const tasks = await c.api.ok<TaskView[]>('GET', `/api/v1/servers/${server.id}/tasks`);
      const shown = await byTestId(page, 'task-action-error').innerText().catch(() => 'no error shown');
      throw new Error(`${(err as Error).message}; tasks: ${JSON.stringify(tasks.map((t) => [t.op, t.state, t.error]))}; page: ${shown}`);
    }
    await waitFor('the live region to say it', async () => /runs again/.test(await byTestId(page, 'live-region').innerText()));

    await page.goto('/admin/audit');
    await byTestId(page, 'audit-filter-action').click();
    await page.locator('mat-option', { hasText: 'tasks' }).click();
    const entry = page.locator('[data-testid="audit-row"][data-action="task.retry"]').first();
    await entry.waitFor();
    const audit = await entry.innerText();
    assert.match(audit, /retry-1\.example/);
    assert.match(audit, /node back after restart/);
    assert.match(audit, /admin@e2e\.test/);
    assert.equal(await page.locator('[data-testid="audit-row"]:not([data-action^="task."])').count(), 0, 'the filter shows only task entries');

    // the customer's server page names its node
    const cp = await newPage(b);
    await logIn(cp, c.email, CUSTOMER_PASSWORD);
    await cp.goto(`/servers/${server.id}`);
    await byTestId(cp, 'server-node').waitFor();
    assert.doesNotMatch(await byTestId(cp, 'server-node').innerText(), /[0-9a-f]{8}-[0-9a-f]{4}-/);
    await cp.context().close();
    await page.context().close();
  });

  test('a server stuck after a failed delete is force-deleted from the failed-tasks page after typing its name; cancelling the dialog changes nothing; the audit log, filtered by team, has it', async () => {
    const c = await registerCustomer(b, 'force', { uniqueTenant: true });
    const server = await order(c.api, 'stuck-1.example');
    await waitForState(c.api, server.id, 'running');
    // The node goes quiet while the customer deletes: the delete fails on the 2 s timeout and leaves the server in
    // error. The node stays quiet until the force-delete is done: thawed, it would finish the stale delete itself.
    const daemon = b.stack.daemon!.child;
    daemon.kill('SIGSTOP');
    try {
      await c.api.ok('DELETE', `/api/v1/servers/${server.id}`);
      await waitFor('the delete to fail', async () => {
        const s = await c.api.ok<ServerView>('GET', `/api/v1/servers/${server.id}`);
        return s.state === 'error' && s.currentTask?.op === 'delete' && s.currentTask.state === 'failed' ? s : undefined;
      }, { timeoutMs: 20_000 });
      await forceDeleteFromPage(c, server);
    } finally {
      daemon.kill('SIGCONT');
    }
    // The frozen node was marked offline: the next tests order on it, so wait for its heartbeats to bring it back.
    await waitFor('the node to be online again', async () => {
      const nodes = await b.admin.ok<{ id: string; state: string }[]>('GET', '/api/v1/admin/nodes');
      return nodes.find((n) => n.id === b.stack.seed.nodeId)?.state === 'online' ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
  });

  async function forceDeleteFromPage(c: { api: ApiClient; tenant: string }, server: ServerView): Promise<void> {
    const page = await staffPage(b);
    await page.goto('/admin/tasks');
    const row = page.locator('[data-testid="failed-task-row"][data-hostname="stuck-1.example"][data-op="delete"]');
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(c.tenant), 'the team by name');
    // The dialog asks for the host name; cancelling it leaves the server as it was.
    await row.locator('[data-testid="server-force-delete"]').click();
    await byTestId(page, 'confirm-reason').waitFor();
    assert.match(await page.locator('mat-dialog-container').innerText(), /Force-delete stuck-1\.example\?[\s\S]*cannot be undone/);
    await page.locator('mat-dialog-container').getByRole('button', { name: 'Cancel' }).click();
    await byTestId(page, 'confirm-reason').waitFor({ state: 'detached' });
    assert.equal((await c.api.ok<ServerView>('GET', `/api/v1/servers/${server.id}`)).state, 'error', 'cancelled: nothing changed');
    // A wrong name keeps the button disabled.
    await row.locator('[data-testid="server-force-delete"]').click();
    await byTestId(page, 'confirm-input').fill('stuck-2.example');
    await byTestId(page, 'confirm-reason').fill('x');
    assert.equal(await byTestId(page, 'confirm-submit').isDisabled(), true, 'the wrong host name does not confirm');
    await page.locator('mat-dialog-container').getByRole('button', { name: 'Cancel' }).click();
    await byTestId(page, 'confirm-reason').waitFor({ state: 'detached' });
    await row.locator('[data-testid="server-force-delete"]').click();
    await confirmWithReason(page, 'domain gone after node loss', 'stuck-1.example');
    await waitFor('the live region to say it', async () => /stuck-1\.example was force-deleted/.test(await byTestId(page, 'live-region').innerText()));
    await waitFor('the server to be gone for its owner', async () => {
      const r = await fetch(`${b.stack.apiUrl}/api/v1/servers/${server.id}`, { headers: { authorization: `Bearer ${c.api.token}` } });
      if (r.status === 404) return true;
      const body = (await r.json()) as ServerView;
      return body.state === 'deleted' ? true : undefined;
    }, { timeoutMs: 15_000 });
    await row.waitFor({ state: 'detached' }).catch(() => undefined);

    // The audit log, filtered to the customer's team: who, what, which server, why.
    await page.goto('/admin/audit');
    await byTestId(page, 'audit-filter-tenant').click();
    await page.locator('mat-option', { hasText: c.tenant }).click();
    const entry = page.locator('[data-testid="audit-row"][data-action="server.force_delete"]').first();
    await entry.waitFor();
    const audit = await entry.innerText();
    assert.match(audit, /stuck-1\.example/);
    assert.match(audit, /domain gone after node loss/);
    assert.match(audit, /admin@e2e\.test/);
    assert.doesNotMatch(audit, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'names, not ids');
    await page.context().close();
  }

  test('all servers: search, and filter by team; rows name the team and the node, not ids', async () => {
    const one = await registerCustomer(b, 'allsrv-one', { uniqueTenant: true });
    const two = await registerCustomer(b, 'allsrv-two', { uniqueTenant: true });
    const mine = [await order(one.api, 'alpha-web.example'), await order(one.api, 'alpha-db.example')];
    const theirs = await order(two.api, 'beta-web.example');
    for (const [api, s] of [[one.api, mine[0]!], [one.api, mine[1]!], [two.api, theirs]] as const) await waitForState(api, s.id, 'running');
    const page = await staffPage(b);
    await page.goto('/admin/servers');
    const rows = page.locator('[data-testid="admin-server-row"]');
    await rows.first().waitFor();
    const shown = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-hostname')).sort().join());
    const shows = (want: string[]) => waitFor(`the list to show ${want.join(', ')}`, async () => ((await shown()) === [...want].sort().join() ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 });
    // One team: its two servers only.
    await byTestId(page, 'admin-servers-tenant').click();
    await page.locator('mat-option', { hasText: one.tenant }).click();
    await shows(['alpha-db.example', 'alpha-web.example']);
    // And a search within it.
    await byTestId(page, 'admin-servers-search').fill('web');
    await byTestId(page, 'admin-servers-search').press('Enter');
    await shows(['alpha-web.example']);
    // Every team, the same search: both teams' web servers.
    await byTestId(page, 'admin-servers-tenant').click();
    await page.locator('mat-option', { hasText: 'every team' }).click();
    await waitFor('both web servers', async () => {
      const names = (await shown()).split(',');
      return names.includes('alpha-web.example') && names.includes('beta-web.example') && !names.includes('alpha-db.example') ? true : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    const row = page.locator('[data-testid="admin-server-row"][data-hostname="beta-web.example"]');
    const text = await row.innerText();
    assert.match(text, new RegExp(two.tenant), 'the team by name');
    const placed = await two.api.ok<ServerView>('GET', `/api/v1/servers/${theirs.id}`);
    assert.ok(placed.nodeName && text.includes(placed.nodeName), `the node by name (${placed.nodeName})`);
    assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'no UUIDs in the row');
    await page.context().close();
  });

  test('an empty pool is deleted after a confirmation; a pool in use cannot be; an IPv6 /64 reads as a /64', async () => {
    const page = await staffPage(b);
    await page.goto('/admin/ip-pools');
    for (const [cidr, gateway] of [['198.18.0.0/28', '198.18.0.1'], ['2001:db8:15::/64', '2001:db8:15::1']] as const) {
      await byTestId(page, 'ip-pool-add-toggle').click();
      await page.locator('input[data-testid="ip-pool-cidr"]').fill(cidr);
      await page.locator('input[data-testid="ip-pool-gateway"]').fill(gateway);
      await byTestId(page, 'ip-pool-submit').click();
      await page.locator(`[data-testid="ip-pool-row"][data-cidr="${cidr}"]`).waitFor();
    }
    const v6 = await page.locator('[data-testid="ip-pool-row"][data-cidr="2001:db8:15::/64"] [data-testid="ip-pool-usage"]').innerText();
    assert.match(v6, /\/64/);
    assert.doesNotMatch(v6, /9007199254740991/);
    // the seed's pool has the servers' addresses: its delete is disabled with the reason in sight
    const used = page.locator('[data-testid="ip-pool-row"]').filter({ has: page.locator('[data-testid="ip-pool-usage"]:not([data-used="0"])') }).first();
    if ((await used.count()) > 0) {
      assert.equal(await used.locator('[data-testid="ip-pool-delete"]').isDisabled(), true);
      assert.match(await used.innerText(), /In use by/);
    }
    const empty = page.locator('[data-testid="ip-pool-row"][data-cidr="198.18.0.0/28"]');
    await empty.locator('[data-testid="ip-pool-delete"]').click();
    await byTestId(page, 'confirm-submit').click();
    await empty.waitFor({ state: 'detached' });
    await page.reload();
    await page.locator('[data-testid="ip-pool-row"][data-cidr="2001:db8:15::/64"]').waitFor();
    assert.equal(await empty.count(), 0, 'gone after a reload too');
    await page.context().close();
  });

  test('locations can be edited; the node page lists its servers; an offline node raises an alert', async () => {
    const page = await staffPage(b);
    await page.goto('/admin/locations');
    const row = page.locator('[data-testid="admin-location-row"]').first();
    await row.locator('[data-testid="location-edit"]').click();
    const name = `Renamed ${uniqueName('dc').slice(-5)}`;
    await page.locator('input[data-testid="location-name"]').fill(name);
    await byTestId(page, 'location-submit').click();
    await page.getByText(name).first().waitFor();

    // Delete asks for the location's code; one in use is refused with what still uses it, an empty one goes.
    const spare = await b.admin.ok<{ id: string; code: string }>('POST', '/api/v1/admin/locations', { code: uniqueName('spare').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 32), name: 'Spare room', country: 'NL' });
    await page.reload();
    const seeded = page.locator(`[data-testid="admin-location-row"][data-code="${(await b.admin.ok<{ id: string; code: string }[]>('GET', '/api/v1/locations')).find((l) => l.id === b.stack.seed.locationId)!.code}"]`);
    await seeded.locator('[data-testid="location-delete"]').click();
    const seededCode = (await seeded.getAttribute('data-code'))!;
    await byTestId(page, 'confirm-input').fill(seededCode);
    await byTestId(page, 'confirm-submit').click();
    await byTestId(page, 'location-error').waitFor();
    assert.match(await byTestId(page, 'location-error').innerText(), /node|pool|server/i, 'the refusal says what still uses it');
    assert.equal(await seeded.count(), 1, 'the location in use stays');
    const spareRow = page.locator(`[data-testid="admin-location-row"][data-code="${spare.code}"]`);
    await spareRow.locator('[data-testid="location-delete"]').click();
    await byTestId(page, 'confirm-input').fill(spare.code);
    await byTestId(page, 'confirm-submit').click();
    await spareRow.waitFor({ state: 'detached' });
    await page.reload();
    await byTestId(page, 'admin-location-row').first().waitFor();
    assert.equal(await spareRow.count(), 0, 'gone after a reload too');

    await page.goto('/admin/nodes');
    await byTestId(page, 'node-link').first().click();
    await byTestId(page, 'node-page').waitFor();
    await byTestId(page, 'node-server-row').first().waitFor();
    assert.ok((await byTestId(page, 'node-task-row').count()) > 0, 'recent tasks shown');
    await shot(page, '35-admin-node');

    // a node that goes offline: staff hear it on whatever page they are
    const ghost = await b.admin.ok<{ node: { id: string } }>('POST', '/api/v1/admin/nodes', {
      name: 'hv-ghost', locationId: b.stack.seed.locationId, vcpus: 4, memoryMiB: 4096, diskGiB: 100,
    });
    await b.admin.ok('PATCH', `/api/v1/admin/nodes/${ghost.node.id}`, { state: 'offline' });
    await page.goto('/admin/plans');
    await page.locator('[data-testid="node-offline-banner"][data-node="hv-ghost"]').waitFor();
    await b.admin.ok('DELETE', `/api/v1/admin/nodes/${ghost.node.id}`);
    await page.context().close();
  });
  test('staff set the mail server and brand, send a test mail the SMTP server receives, and cannot require 2FA of staff without it themselves', async () => {
    const page = await staffPage(b);
    await byTestId(page, 'nav-admin-settings').click();
    await byTestId(page, 'mail-form').waitFor();
    assert.match(await byTestId(page, 'mail-source').innerText(), /environment applies/);

    const mail = b.stack.mail!;
    await byTestId(page, 'mail-host').fill('127.0.0.1');
    await byTestId(page, 'mail-security').click();
    await page.getByRole('option', { name: /None/ }).click();
    await byTestId(page, 'mail-port').fill(String(mail.smtpPort));
    const brand = `Settings Cloud ${uniqueName('b').slice(-5)}`;
    await byTestId(page, 'mail-brand').fill(brand);
    await byTestId(page, 'mail-port').fill('70000');
    await byTestId(page, 'mail-save').click();
    assert.match(await byTestId(page, 'mail-error').innerText(), /port is a whole number from 1 to 65535/);
    await byTestId(page, 'mail-port').fill(String(mail.smtpPort));
    await byTestId(page, 'mail-save').click();
    await page.locator('[data-testid="mail-source"]', { hasText: /Saved .* \(version/ }).or(byTestId(page, 'mail-error')).first().waitFor();
    if (await byTestId(page, 'mail-error').count()) assert.fail(`the save was refused: ${await byTestId(page, 'mail-error').innerText()}`);
    assert.match(await byTestId(page, 'mail-source').innerText(), /Saved .* by admin@e2e\.test/);
    await page.reload();
    assert.equal(await byTestId(page, 'mail-brand').inputValue(), brand, 'the saved brand is shown after a reload');

    const to = `${uniqueName('mailtest')}@browser.test`;
    await byTestId(page, 'mail-test-to').fill(to);
    await byTestId(page, 'mail-test-send').click();
    const result = byTestId(page, 'mail-test-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-sent'), 'true', await result.innerText());
    assert.match(await result.innerText(), /250/);
    const got = await mail.waitForMail(to);
    assert.match(got.subject, new RegExp(brand), 'the test mail names the brand just saved');
    await shot(page, '38-admin-settings');

    // Requiring 2FA of staff while one's own account has none would lock oneself out: refused, and the toggle stays off.
    await byTestId(page, 'staff-require-2fa').locator('button').click();
    assert.match(await byTestId(page, 'staff-security-error').innerText(), /Turn on two-factor sign-in for your own account first/);
    assert.equal(await byTestId(page, 'staff-require-2fa').locator('button').getAttribute('aria-checked'), 'false');

    // Back to the environment's settings, as the rest of the file expects.
    await byTestId(page, 'mail-reset').click();
    await page.locator('[data-testid="mail-source"]', { hasText: /environment applies/ }).waitFor();
    await page.context().close();
  });
});
