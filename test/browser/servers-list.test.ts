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
import { waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import { byTestId, CUSTOMER_PASSWORD, logIn, newPage, registerCustomer, shot, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

async function order(api: ApiClient, hostname: string): Promise<ServerView> {
  const seed = b.stack.seed;
  return api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
}

describe('the server list', () => {
  test('search and sort on the API, kept in the URL across reload and back; no match says so; a row stops its server after the confirmation', async () => {
    const c = await registerCustomer(b, 'list');
    const names = ['mail-b.example', 'web-a.example', 'db-c.example'];
    const servers: ServerView[] = [];
    for (const n of names) servers.push(await order(c.api, n));
    for (const s of servers) await waitForState(c.api, s.id, 'running', 30_000);
    // Another team's server with a matching name never shows.
    const other = await registerCustomer(b, 'list-other');
    await order(other.api, 'web-z.example');

    const page = await newPage(b);
    await logIn(page, c.email, CUSTOMER_PASSWORD);
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
    const why = row.locator('[data-testid="row-why"][data-actions~="start"]');
    assert.ok(await why.isVisible(), 'the reason is visible, not only a tooltip');
    assert.match(await why.innerText(), /^Start(, Reboot)?: \S/);
    const describedBy = await row.locator('[data-testid="row-action-start"]').getAttribute('aria-describedby');
    assert.equal(await page.locator(`[id="${describedBy}"]`).innerText(), await why.innerText(), 'the button is described by the visible reason');
    await shot(page, '46-servers-list-search-sort');

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
    await stopped.locator('[data-testid="row-action-start"]:not([disabled]):not([aria-disabled="true"])').waitFor({ timeout: 15_000 });
    assert.equal(await stopped.locator('[data-testid="row-action-stop"]').isDisabled(), true);
    assert.ok(await stopped.locator('[data-testid="row-why"][data-actions~="stop"]').isVisible());
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
    const pageWhy = page.locator('[data-testid="why"][data-actions~="stop"]');
    await pageWhy.waitFor();
    assert.ok(await pageWhy.isVisible());
    assert.equal(await byTestId(page, 'action-stop').getAttribute('aria-describedby'), await pageWhy.getAttribute('id'));
    await page.context().close();
  });

  test('long disabled reasons and long host names stay inside the row: buttons whole, a reason at most two lines with the full text on hover and for screen readers', async () => {
    const c = await registerCustomer(b, 'long-why');
    // A host name of 105 characters, and a staff suspension: all three row actions are refused with the suspension's reason.
    const long = `${'long-label-'.repeat(5)}x.${'b'.repeat(40)}.example`;
    const held = await order(c.api, long);
    const plain = await order(c.api, 'plain.example');
    for (const s of [held, plain]) await waitForState(c.api, s.id, 'running', 30_000);
    await b.admin.ok('POST', `/api/v1/admin/servers/${held.id}/suspend`, { reason: 'test: long reasons' });
    await waitForState(c.api, held.id, 'suspended', 30_000);

    for (const [width, height, name] of [[1280, 860, '59-servers-list-long-reasons'], [390, 844, '60-phone-servers-long-reasons']] as const) {
      const page = await newPage(b, width, height);
      await logIn(page, c.email, CUSTOMER_PASSWORD);
      await page.goto('/servers');
      const row = page.locator(`[data-testid="server-row"][data-hostname="${long}"]`);
      await row.locator('[data-testid="row-why"]').first().waitFor();
      // One line for the one reason the three actions share, naming them all.
      const why = row.locator('[data-testid="row-why"]');
      assert.equal(await why.count(), 1, `${name}: one reason line for three actions`);
      const full = 'Start, Stop and Reboot: The server is suspended; settle the account or contact support to have it unsuspended.';
      assert.equal(await why.getAttribute('data-actions'), 'start stop reboot');
      // The full text is the title (hover) and the element's text (what aria-describedby hands a screen reader) ...
      assert.equal(await why.getAttribute('title'), full);
      assert.equal((await why.textContent())?.replace(/\s+/g, ' ').trim(), full);
      for (const a of ['start', 'stop', 'reboot']) {
        assert.equal(await row.locator(`[data-testid="row-action-${a}"]`).getAttribute('aria-describedby'), await why.getAttribute('id'), `${name}: ${a} is described by the reason`);
      }
      const link = row.locator('[data-testid="server-link"]');
      const box = await why.evaluate((el) => {
        const style = (globalThis as unknown as { getComputedStyle(e: unknown): { lineHeight: string } }).getComputedStyle(el);
        return { lines: Math.round(el.clientHeight / parseFloat(style.lineHeight)), cut: el.scrollHeight > el.clientHeight + 1 };
      });
      // ... while the screen shows at most two lines of it in a table row (this reason needs more: it is cut, not the
      // row stretched), and up to four in a phone's card, which has the width and no hover.
      if (width > 600) {
        assert.ok(box.lines <= 2, `${name}: the reason takes ${box.lines} lines`);
        assert.ok(box.cut, `${name}: the reason is long enough to be cut here, so the test shows the cut`);
      } else {
        assert.ok(box.lines <= 4 && !box.cut, `${name}: the whole reason shows in the card (${JSON.stringify(box)})`);
        const title = await link.evaluate((el) => el.scrollWidth <= el.clientWidth + 1 || el.clientWidth > 300);
        assert.ok(title, `${name}: the card's title uses the card's width`);
      }
      // The buttons keep their label on one line (before, a phone card broke "Start" into "St ar t").
      for (const a of ['start', 'stop', 'reboot']) {
        const fits = await row.locator(`[data-testid="row-action-${a}"]`).evaluate((el) => ({ h: el.getBoundingClientRect().height, over: el.scrollWidth > el.clientWidth + 1 }));
        assert.ok(fits.h < 48 && !fits.over, `${name}: ${a} is whole (${JSON.stringify(fits)})`);
      }
      // The row is not a tower: it is no taller than its buttons, two lines of reason and some padding.
      const rowHeight = await row.evaluate((el) => el.getBoundingClientRect().height);
      // The host name is cut with an ellipsis and whole in its title; nothing pushes the page sideways.
      assert.equal(await link.getAttribute('title'), long);
      const sideways = await page.evaluate(() => {
        const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return root.scrollWidth > root.clientWidth + 1;
      });
      assert.equal(sideways, false, `${name}: the page does not scroll sideways`);
      if (width > 600) {
        // Above 600 px the three buttons sit on one line.
        const tops = await Promise.all(['start', 'stop', 'reboot'].map((a) => row.locator(`[data-testid="row-action-${a}"]`).evaluate((el) => Math.round(el.getBoundingClientRect().top))));
        assert.equal(new Set(tops).size, 1, `${name}: the buttons share one line (${tops.join(', ')})`);
        assert.ok(rowHeight < 200, `${name}: the row is ${rowHeight} px tall`);
        const wrap = await page.locator('.ob-table-wrap').evaluate((el) => el.scrollWidth <= el.clientWidth + 1);
        assert.ok(wrap, `${name}: the table fits its pane, so every row's buttons show without scrolling`);
      }
      await shot(page, name);
      await page.context().close();
    }
  });
});
