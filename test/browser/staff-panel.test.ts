/**
 * The last gaps of issue 15 in Chromium against the real stack (default task timeout, so an active task
 * stays active until staff act): cancelling an active task (confirmation, audit entry, the task ends
 * failed as cancelled), one word for taking a plan, image or ISO off sale ("Deprecate", the API's
 * `image_deprecated`), each confirmed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { ServerView, TaskView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import { byTestId, logIn, newPage, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

const PASSWORD = 'correct horse battery staple';

async function customer(label: string): Promise<{ email: string; api: ApiClient; tenant: string }> {
  const email = `${uniqueName(label)}@browser.test`;
  const api = new ApiClient(b.stack.apiUrl);
  const tenant = `${label} Hosting ${uniqueName('t').slice(-4)}`;
  await api.register(email, PASSWORD, tenant);
  await b.stack.verifyEmail(email);
  return { email, api, tenant };
}

async function staffPage(): Promise<Page> {
  const page = await newPage(b);
  await logIn(page, 'admin@e2e.test', b.adminPassword);
  return page;
}

function order(api: ApiClient, hostname: string): Promise<ServerView> {
  const seed = b.stack.seed;
  return api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
}

describe('staff panel: the last gaps', () => {
  test('staff cancel an active task after a confirmation; it ends failed as cancelled, with an audit entry naming the server and the reason', async () => {
    const c = await customer('cancel');
    const server = await order(c.api, 'cancel-1.example');
    await waitForState(c.api, server.id, 'running');
    // The node goes quiet (its daemon frozen): the reboot is sent and never answered, so it stays active
    // (the default task timeout is 10 minutes) until staff cancel it.
    const daemon = b.stack.daemon!.child;
    daemon.kill('SIGSTOP');
    try {
      await c.api.ok('POST', `/api/v1/servers/${server.id}/actions`, { action: 'reboot' });
      const page = await staffPage();
      await page.goto('/admin/tasks');
      await byTestId(page, 'failed-tasks-state').click();
      await page.locator('mat-option', { hasText: 'queued or running' }).click();
      const active = page.locator('[data-testid="failed-task-row"][data-hostname="cancel-1.example"][data-op="reboot"]');
      await active.waitFor();
      assert.match(await active.locator('[data-testid="state-chip"]').innerText(), /queued|dispatched|running/i);

      // The dialog says what happens; its own Cancel leaves the task running.
      await active.locator('[data-testid="task-cancel"]').click();
      const dialog = page.locator('mat-dialog-container');
      await byTestId(page, 'confirm-reason').waitFor();
      assert.match(await dialog.innerText(), /Cancel the reboot of cancel-1\.example\?[\s\S]*fails now/);
      assert.equal(await byTestId(page, 'confirm-submit').isDisabled(), true, 'no reason, no cancel');
      await byTestId(page, 'confirm-cancel').click();
      await byTestId(page, 'confirm-reason').waitFor({ state: 'detached' });
      const still = await c.api.ok<TaskView[]>('GET', `/api/v1/servers/${server.id}/tasks`);
      assert.ok(still[0]?.op === 'reboot' && ['queued', 'dispatched', 'running'].includes(still[0].state), `dismissed: the reboot is still active (${still[0]?.state})`);

      await active.locator('[data-testid="task-cancel"]').click();
      await byTestId(page, 'confirm-reason').fill('node frozen for maintenance');
      await byTestId(page, 'confirm-submit').click();
      await byTestId(page, 'confirm-submit').waitFor({ state: 'detached' });
      await waitFor('the live region to say it', async () => /The reboot of cancel-1\.example was cancelled/.test(await byTestId(page, 'live-region').innerText()));
      await active.waitFor({ state: 'detached' });

      // The failed list shows it, ended, with the staff's reason as its error.
      await byTestId(page, 'failed-tasks-state').click();
      await page.locator('mat-option', { hasText: /^\s*failed\s*$/ }).click();
      const ended = page.locator('[data-testid="failed-task-row"][data-hostname="cancel-1.example"][data-op="reboot"]');
      await ended.waitFor();
      assert.equal(await ended.getAttribute('data-state'), 'failed');
      assert.match(await ended.locator('[data-testid="failed-task-error"]').innerText(), /cancelled by staff: node frozen for maintenance/);
      const after = await c.api.ok<TaskView[]>('GET', `/api/v1/servers/${server.id}/tasks`);
      assert.equal(after[0]?.state, 'failed', 'the owner sees it ended too');

      await page.goto('/admin/audit');
      await byTestId(page, 'audit-filter-action').click();
      await page.locator('mat-option', { hasText: 'tasks' }).click();
      const entry = page.locator('[data-testid="audit-row"][data-action="task.cancel"]').first();
      await entry.waitFor();
      const audit = await entry.innerText();
      assert.match(audit, /cancel-1\.example/);
      assert.match(audit, /node frozen for maintenance/);
      assert.match(audit, /admin@e2e\.test/);
      await page.context().close();
    } finally {
      daemon.kill('SIGCONT');
    }
    await waitFor('the node to be online again', async () => {
      const nodes = await b.admin.ok<{ id: string; state: string }[]>('GET', '/api/v1/admin/nodes');
      return nodes.find((n) => n.id === b.stack.seed.nodeId)?.state === 'online' ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
  });

  test('plans, images and ISOs are taken off sale with one word, "Deprecate", each after a confirmation', async () => {
    const iso = await b.admin.ok<{ id: string; name: string }>('POST', '/api/v1/admin/isos', {
      name: `Rescue ${uniqueName('iso').slice(-5)}`, url: 'https://isos.example/rescue.iso', sha256: 'a'.repeat(64),
    });
    const page = await staffPage();
    for (const [path, rowId, toggle, name] of [
      ['/admin/plans', 'admin-plan-row', 'plan-toggle', 'Medium'],
      ['/admin/isos', 'admin-iso-row', 'iso-toggle', iso.name],
    ] as const) {
      await page.goto(path);
      const row = page.locator(`[data-testid="${rowId}"][data-name="${name}"]`);
      await row.waitFor();
      const button = row.locator(`[data-testid="${toggle}"]`);
      assert.equal((await button.innerText()).trim(), 'Deprecate', `${path}: the button says Deprecate`);
      assert.doesNotMatch(await page.locator('main').innerText(), /retire/i, `${path}: no "Retire" left`);
      // Asked first; dismissing leaves it on offer.
      await button.click();
      const dialog = page.locator('mat-dialog-container');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), new RegExp(`Deprecate the (plan|ISO) ${name}\\?`));
      await byTestId(page, 'confirm-cancel').click();
      await dialog.waitFor({ state: 'detached' });
      assert.match(await row.locator('[data-testid="state-chip"]').innerText(), /offered/i);
      // Confirmed: it reads deprecated, and can be offered again.
      await button.click();
      await byTestId(page, 'confirm-submit').click();
      await row.locator('[data-testid="state-chip"][data-state="deprecated"]').waitFor();
      assert.equal((await button.innerText()).trim(), 'Offer');
      await waitFor('the live region to say it', async () => /was deprecated/.test(await byTestId(page, 'live-region').innerText()));
      await button.click();
      await row.locator('[data-testid="state-chip"][data-state="offered"]').waitFor();
    }
    const isos = await b.admin.ok<{ id: string; active: boolean }[]>('GET', '/api/v1/admin/isos');
    assert.equal(isos.find((i) => i.id === iso.id)?.active, true, 'offered again after the round trip');
    await page.context().close();
  });
});
