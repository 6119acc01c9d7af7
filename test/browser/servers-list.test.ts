/**
 * The server list (issue 15, "Lists"), in Chromium against the real stack: search and sort run on the
 * API, live in the URL (a reload and the back button keep them), a search with no match says so; each
 * row starts, stops and reboots with the server page's confirmation, and a disabled action shows why
 * on screen. The server page shows its disabled actions' reasons too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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

const PASSWORD = 'correct horse battery staple';

async function customer(label: string): Promise<{ email: string; api: ApiClient }> {
  const email = `${uniqueName(label)}@browser.test`;
  const api = new ApiClient(b.stack.apiUrl);
  await api.register(email, PASSWORD, `${label} Hosting`);
  await b.stack.verifyEmail(email);
  return { email, api };
}

async function order(api: ApiClient, hostname: string): Promise<ServerView> {
  const seed = b.stack.seed;
  return api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
}

describe('the server list', () => {
  test('search and sort on the API, kept in the URL across reload and back; no match says so; a row stops its server after the confirmation', async () => {
    const c = await customer('list');
    const names = ['mail-b.example', 'web-a.example', 'db-c.example'];
    const servers: ServerView[] = [];
    for (const n of names) servers.push(await order(c.api, n));
    for (const s of servers) await waitForState(c.api, s.id, 'running', 30_000);
    // Another team's server with a matching name never shows.
    const other = await customer('list-other');
    await order(other.api, 'web-z.example');

    const page = await newPage(b);
    await logIn(page, c.email, PASSWORD);
    await page.goto('/servers');
    const rows = page.locator('[data-testid="server-row"]');
    const hostnames = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-hostname')));
    const shows = (want: string[]) =>
      waitFor(`the list to show ${want.join(', ')}`, async () => ((await hostnames()).join() === want.join() ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
    await rows.nth(2).waitFor();
    assert.deepEqual(await hostnames(), [...names].reverse(), 'newest first by default');

    // Sort by name: the URL says so, the API orders it.
    await byTestId(page, 'servers-sort').selectOption('name:asc');
    await page.waitForURL((u) => u.searchParams.get('sort') === 'name' && u.searchParams.get('order') === 'asc');
    await shows([...names].sort());

    // Search, debounced: typing "web" ends in one URL change and one row.
    const requests: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/servers') requests.push(u.search);
    });
    await byTestId(page, 'servers-search').pressSequentially('web', { delay: 40 });
    await page.waitForURL((u) => u.searchParams.get('q') === 'web');
    await shows(['web-a.example']);
    assert.equal(requests.filter((q) => q.includes('q=w')).length, 1, `one search request for the typed word, not one a key (${requests.join(' ')})`);
    assert.ok(requests.some((q) => q.includes('q=web') && q.includes('sort=name')), 'the search keeps the sort');

    // Reload keeps both.
    await page.reload();
    await shows(['web-a.example']);
    assert.equal(await byTestId(page, 'servers-search').inputValue(), 'web');
    assert.equal(await byTestId(page, 'servers-sort').inputValue(), 'name:asc');

    // Search by the start of an address.
    const addr = servers[2]!.addresses[0]!.address;
    await byTestId(page, 'servers-search').fill(addr);
    await page.waitForURL((u) => u.searchParams.get('q') === addr);
    await shows(['db-c.example']);

    // No match: the message, and a way out.
    await byTestId(page, 'servers-search').fill('nothing-called-this');
    await byTestId(page, 'servers-no-match').waitFor();
    assert.match(await byTestId(page, 'servers-no-match').innerText(), /No servers match “nothing-called-this”/);
    await shot(page, 'servers-list-no-match');

    // Back goes to the address search, then to "web".
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('q') === addr);
    await shows(['db-c.example']);
    assert.equal(await byTestId(page, 'servers-search').inputValue(), addr);
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('q') === 'web');
    await shows(['web-a.example']);

    await byTestId(page, 'servers-no-match').waitFor({ state: 'detached' });
    await byTestId(page, 'servers-search').fill('');
    await page.waitForURL((u) => !u.searchParams.has('q'));
    await rows.nth(2).waitFor();

    // Row actions: a running server's Start is disabled with the reason on screen.
    const row = page.locator(`[data-testid="server-row"][data-hostname="web-a.example"]`);
    assert.equal(await row.locator('[data-testid="row-action-start"]').isDisabled(), true);
    const why = row.locator('[data-testid="row-why-start"]');
    assert.ok(await why.isVisible(), 'the reason is visible, not only a tooltip');
    assert.match(await why.innerText(), /^Start: \S/);
    const describedBy = await row.locator('[data-testid="row-action-start"]').getAttribute('aria-describedby');
    assert.equal(await page.locator(`[id="${describedBy}"]`).innerText(), await why.innerText(), 'the button is described by the visible reason');
    await shot(page, 'servers-list-search-sort');

    // Stop: the same confirmation as on the server page; cancelling does nothing.
    await row.locator('[data-testid="row-action-stop"]').click();
    const dialog = page.locator('mat-dialog-container');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /Stop the server\?/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await c.api.ok<ServerView>('GET', `/api/v1/servers/${servers[1]!.id}`)).state, 'running', 'cancelled: still running');

    await row.locator('[data-testid="row-action-stop"]').click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Stop' }).click();
    await page.locator('[data-testid="server-row"][data-hostname="web-a.example"][data-state="stopped"]').waitFor({ timeout: 30_000 });
    const stopped = page.locator('[data-testid="server-row"][data-hostname="web-a.example"]');
    await stopped.locator('[data-testid="row-action-start"]:not([disabled])').waitFor({ timeout: 15_000 });
    assert.equal(await stopped.locator('[data-testid="row-action-stop"]').isDisabled(), true);
    assert.ok(await stopped.locator('[data-testid="row-why-stop"]').isVisible());
    assert.equal((await c.api.ok<ServerView>('GET', `/api/v1/servers/${servers[1]!.id}`)).state, 'stopped');

    // Sort by state: the lifecycle order (libs/contracts SERVER_STATE_ORDER), not the alphabet. Pause db-c:
    // running, then paused, then stopped; alphabetical would put "paused" first.
    await c.api.ok('POST', `/api/v1/servers/${servers[2]!.id}/actions`, { action: 'pause' });
    await waitForState(c.api, servers[2]!.id, 'paused', 30_000);
    await byTestId(page, 'servers-sort').selectOption('state:asc');
    await page.waitForURL((u) => u.searchParams.get('sort') === 'state');
    await shows(['mail-b.example', 'db-c.example', 'web-a.example']);
    // A live change moves the row: start web-a from its row; once running it sits among the running ones,
    // oldest first (mail-b was ordered before it), ahead of the paused one.
    await stopped.locator('[data-testid="row-action-start"]').click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.locator('[data-testid="server-row"][data-hostname="web-a.example"][data-state="running"]').waitFor({ timeout: 30_000 });
    await shows(['mail-b.example', 'web-a.example', 'db-c.example']);
    await c.api.ok('POST', `/api/v1/servers/${servers[1]!.id}/actions`, { action: 'stop' });
    await waitForState(c.api, servers[1]!.id, 'stopped', 30_000);
    await shows(['mail-b.example', 'db-c.example', 'web-a.example']);

    // The server page shows its disabled actions' reasons on screen too.
    await stopped.locator('[data-testid="server-link"]').click();
    await byTestId(page, 'server-hostname').waitFor();
    const pageWhy = byTestId(page, 'why-stop');
    await pageWhy.waitFor();
    assert.ok(await pageWhy.isVisible());
    assert.equal(await byTestId(page, 'action-stop').getAttribute('aria-describedby'), 'why-stop');
    await page.context().close();
  });
});
