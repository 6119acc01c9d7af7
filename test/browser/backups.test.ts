/**
 * Backups in Chromium against the real stack (issue 12): staff configure a backup store (validation in the form and
 * from the API, edit, disable, delete with a typed confirmation) and see the node keys the store must trust.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { waitFor } from '@oblako/testing';
import { byTestId, logIn, newPage, shot, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/';

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
});
