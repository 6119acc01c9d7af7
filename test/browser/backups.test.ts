/**
 * Backups in Chromium against the real stack (issue 12): staff configure a backup store (validation in the form and
 * from the API, edit, disable, delete with a typed confirmation) and see the node keys the store must trust.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { ServerView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import { byTestId, logIn, newPage, shot, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';

const PASSWORD = 'correct horse battery staple';

async function customer(label: string): Promise<{ email: string; api: ApiClient }> {
  const email = `${uniqueName(label)}@browser.test`;
  const api = new ApiClient(b.stack.apiUrl);
  await api.register(email, PASSWORD, `${label} Hosting ${uniqueName('t').slice(-4)}`);
  await b.stack.verifyEmail(email);
  return { email, api };
}

async function runningServer(api: ApiClient, hostname: string): Promise<ServerView> {
  const seed = b.stack.seed;
  const s = await api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
  return waitForState(api, s.id, 'running');
}

async function staffPage(): Promise<Page> {
  const page = await newPage(b);
  await logIn(page, 'admin@e2e.test', b.adminPassword);
  return page;
}

describe('backups', () => {
  test('staff add a backup store (the form and the API say what is wrong), edit it, disable it and delete it; node keys are listed', async () => {
    const page = await staffPage();
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
    const c = await customer('sched');
    const server = await runningServer(c.api, 'sched-web-1');
    const page = await newPage(b);
    await logIn(page, c.email, PASSWORD);
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

  test('staff set how long a deleted server\'s backups are kept', async () => {
    const page = await staffPage();
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
