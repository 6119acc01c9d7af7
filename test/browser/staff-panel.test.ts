/**
 * The last gaps of issue 15 in Chromium against the real stack (default task timeout, so an active task
 * stays active until staff act): cancelling an active task (confirmation, audit entry, the task ends
 * failed as cancelled), one word for taking a plan, image or ISO off sale ("Deprecate", the API's
 * `image_deprecated`), each confirmed; the all-servers search running as one types (debounced, the older
 * request aborted, kept in the URL) and its node filter; a disabled action's reason reached by keyboard.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerView, TaskView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { byTestId, CUSTOMER_PASSWORD, logIn, newPage, registerCustomer, shot, staffPage, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

function order(api: ApiClient, hostname: string): Promise<ServerView> {
  const seed = b.stack.seed;
  return api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
}

describe('staff panel: the last gaps', () => {
  test('staff cancel an active task after a confirmation; it ends failed as cancelled, with an audit entry naming the server and the reason', async () => {
    const c = await registerCustomer(b, 'cancel', { uniqueTenant: true });
    const server = await order(c.api, 'cancel-1.example');
    await waitForState(c.api, server.id, 'running');
    // The node goes quiet (its daemon frozen): the reboot is sent and never answered, so it stays active
    // (the default task timeout is 10 minutes) until staff cancel it.
    const daemon = b.stack.daemon!.child;
    daemon.kill('SIGSTOP');
    try {
      await c.api.ok('POST', `/api/v1/servers/${server.id}/actions`, { action: 'reboot' });
      const page = await staffPage(b);
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
    const page = await staffPage(b);
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

  test('all servers: the search runs as one types (one request per pause, an older one aborted), a node filter by name, both kept in the URL', async () => {
    const c = await registerCustomer(b, 'typing', { uniqueTenant: true });
    const mine = [await order(c.api, 'typed-web.example'), await order(c.api, 'typed-db.example')];
    for (const s of mine) await waitForState(c.api, s.id, 'running');
    const nodes = await b.admin.ok<{ id: string; name: string }[]>('GET', '/api/v1/admin/nodes');
    const seeded = nodes.find((n) => n.id === b.stack.seed.nodeId)!;
    const emptyName = `hv-empty-${uniqueName('n').slice(-6)}`;
    const empty = await b.admin.ok<{ node: { id: string } }>('POST', '/api/v1/admin/nodes', {
      name: emptyName, locationId: b.stack.seed.locationId, vcpus: 4, memoryMiB: 4096, diskGiB: 100,
    });
    const page = await staffPage(b);
    const asked: string[] = [];
    const aborted: string[] = [];
    const isList = (u: URL) => u.pathname === '/api/v1/admin/servers';
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (isList(u)) asked.push(u.searchParams.get('q') ?? '');
    });
    page.on('requestfailed', (r) => {
      const u = new URL(r.url());
      if (isList(u)) aborted.push(`${u.searchParams.get('q') ?? ''}: ${r.failure()?.errorText}`);
    });
    // The answer to the search "typed" is held for 2 s, so the search typed further overtakes it.
    await page.route((u) => isList(u) && u.searchParams.get('q') === 'typed', async (route) => {
      await sleep(2000);
      await route.continue().catch(() => undefined);
    });
    await page.goto('/admin/servers');
    const rows = page.locator('[data-testid="admin-server-row"]');
    await rows.first().waitFor();
    const shown = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-hostname')).sort().join());
    const shows = (want: string[]) => waitFor(`the list to show ${want.join(', ')}`, async () => ((await shown()) === [...want].sort().join() ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
    asked.length = 0;

    const box = byTestId(page, 'admin-servers-search');
    await box.click();
    await box.pressSequentially('typed', { delay: 40 });
    await waitFor('the search to go out once typing pauses', async () => (asked.includes('typed') ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
    assert.deepEqual(asked, ['typed'], 'one request for the pause, none per keystroke (no Enter pressed)');
    // The search entering the URL is no new page: focus stays in the box (it used to jump to the heading, and the
    // next keys typed were lost).
    await page.waitForURL((u) => u.searchParams.get('q') === 'typed');
    await sleep(200);
    assert.equal(await page.evaluate("document.activeElement?.getAttribute('data-testid') ?? null"), 'admin-servers-search', 'focus stays in the search box');
    await box.pressSequentially('-web', { delay: 40 });
    await shows(['typed-web.example']).catch(async (e) => {
      throw new Error(`${(e as Error).message}; url ${page.url()}; asked ${JSON.stringify(asked)}; aborted ${JSON.stringify(aborted)}; shown ${await shown()}; box ${await box.inputValue()}; page ${(await page.locator('main').innerText()).slice(0, 600)}`);
    });
    await waitFor('the older request to be aborted', async () => (aborted.some((a) => a.startsWith('typed: ')) ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
    assert.deepEqual(asked, ['typed', 'typed-web'], 'one more request once typing paused again');
    await page.waitForURL((u) => u.searchParams.get('q') === 'typed-web');
    // Past the held answer's time: the older search's rows never replace the newer ones.
    await sleep(2300);
    assert.equal(await shown(), 'typed-web.example');

    // The node filter, by name: the empty node has none of them, and says which node; the seeded one has it.
    await byTestId(page, 'admin-servers-node').click();
    await page.locator('mat-option', { hasText: new RegExp(`^\\s*${emptyName}\\s*$`) }).click();
    await page.waitForURL((u) => u.searchParams.get('node') === empty.node.id && u.searchParams.get('q') === 'typed-web');
    await byTestId(page, 'admin-servers-empty').waitFor();
    assert.match(await byTestId(page, 'admin-servers-empty').innerText(), new RegExp(`matching “typed-web” on ${emptyName}`));
    await byTestId(page, 'admin-servers-node').click();
    await page.locator('mat-option', { hasText: new RegExp(`^\\s*${seeded.name}\\s*$`) }).click();
    await page.waitForURL((u) => u.searchParams.get('node') === b.stack.seed.nodeId);
    await shows(['typed-web.example']);
    // Clearing the search (still on that node) shows both.
    await box.fill('');
    await page.waitForURL((u) => !u.searchParams.has('q'));
    await waitFor('both servers on the node', async () => {
      const names = (await shown()).split(',');
      return names.includes('typed-web.example') && names.includes('typed-db.example') ? true : undefined;
    }, { timeoutMs: 15_000, intervalMs: 50 });

    // A reload keeps the search and the filter.
    await box.fill('typed-db');
    await page.waitForURL((u) => u.searchParams.get('q') === 'typed-db');
    await shows(['typed-db.example']);
    await page.reload();
    await shows(['typed-db.example']);
    assert.equal(await byTestId(page, 'admin-servers-search').inputValue(), 'typed-db');
    assert.match(await byTestId(page, 'admin-servers-node').innerText(), new RegExp(seeded.name));
    // Another page is a navigation: focus goes to its heading.
    await byTestId(page, 'nav-admin-settings').click();
    await waitFor('focus on the new page\'s heading', async () => ((await page.evaluate("document.activeElement?.tagName ?? null")) === 'H1' ? true : undefined), { timeoutMs: 5000, intervalMs: 50 });
    await page.goBack();
    await shows(['typed-db.example']);
    const link = page.url();
    await page.context().close();
    // The same link opened afresh on a phone: the search and the filter come from the URL alone.
    const phone = await staffPage(b, 390, 844);
    await phone.goto(link);
    await phone.locator('[data-testid="admin-server-row"][data-hostname="typed-db.example"]').waitFor();
    assert.equal(await phone.locator('[data-testid="admin-server-row"]').count(), 1);
    assert.equal(await byTestId(phone, 'admin-servers-search').inputValue(), 'typed-db');
    await shot(phone, '61-admin-servers-search-node-phone');
    await phone.context().close();
    await b.admin.ok('DELETE', `/api/v1/admin/nodes/${empty.node.id}`);
  });

  test("a disabled action is reached by keyboard and its reason read, but it cannot be activated", async () => {
    const c = await registerCustomer(b, 'keys', { uniqueTenant: true });
    const server = await order(c.api, 'keys-1.example');
    await waitForState(c.api, server.id, 'running');
    const page = await newPage(b);
    await logIn(page, c.email, CUSTOMER_PASSWORD);
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/actions$/.test(new URL(r.url()).pathname)) posts.push(r.url());
    });
    /** Tab (keyboard only) until the focused element is the one with this test id; what the keyboard user lands on. */
    const tabTo = async (testId: string) => {
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab');
        if ((await page.evaluate("document.activeElement?.getAttribute('data-testid') ?? null")) === testId) return;
      }
      assert.fail(`Tab never reached ${testId}`);
    };
    /** The focused element, as assistive technology gets it: disabled or not, and its description's text. */
    // (in-page code as a string: the test project has no DOM types)
    const focused = async () => JSON.parse(String(await page.evaluate(`(() => {
      const el = document.activeElement;
      const ids = (el.getAttribute('aria-describedby') ?? '').split(/\\s+/).filter(Boolean);
      const described = ids.map((id) => document.getElementById(id));
      return JSON.stringify({
        ariaDisabled: el.getAttribute('aria-disabled'), nativeDisabled: el.disabled,
        description: described.map((d) => d?.textContent?.trim() ?? '').join(' '),
        descriptionVisible: described.length > 0 && described.every((d) => !!d && d.getBoundingClientRect().height > 0 && getComputedStyle(d).visibility !== 'hidden'),
        ring: getComputedStyle(el).outlineStyle,
      });
    })()`))) as { ariaDisabled: string | null; nativeDisabled: boolean; description: string; descriptionVisible: boolean; ring: string };
    const noDialog = async (what: string) => {
      await sleep(400);
      assert.equal(await page.locator('mat-dialog-container').count(), 0, `${what}: no dialog`);
      assert.deepEqual(posts, [], `${what}: no action sent`);
    };

    for (const [path, testId] of [['/servers', 'row-action-start'], [`/servers/${server.id}`, 'action-start']] as const) {
      await page.goto(path);
      await byTestId(page, testId).waitFor();
      await page.locator('h1').first().focus();
      await tabTo(testId);
      const f = await focused();
      assert.equal(f.ariaDisabled, 'true', `${path}: announced as disabled`);
      assert.equal(f.nativeDisabled, false, `${path}: focusable (not natively disabled)`);
      assert.match(f.description, /^Start(, [A-Za-z ]+)*( and [A-Za-z ]+)?: \S.{10,}/, `${path}: the reason is its description (${f.description})`);
      assert.ok(f.descriptionVisible, `${path}: the reason is on screen too`);
      assert.equal(f.ring, 'solid', `${path}: the focus ring shows`);
      await page.keyboard.press('Enter');
      await noDialog(`${path} Enter`);
      await page.keyboard.press('Space');
      await noDialog(`${path} Space`);
      await byTestId(page, testId).click({ force: true });
      await noDialog(`${path} click`);
      // The next Tab goes on to the next action, which works.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate("document.activeElement?.getAttribute('aria-disabled') ?? null"), null, `${path}: the next action is enabled`);
    }
    assert.equal((await c.api.ok<ServerView>('GET', `/api/v1/servers/${server.id}`)).state, 'running');

    // A stopped server's console links: reached by Tab, described by the reason on screen, and going nowhere.
    await c.api.ok('POST', `/api/v1/servers/${server.id}/actions`, { action: 'stop' });
    await waitForState(c.api, server.id, 'stopped');
    await page.goto(`/servers/${server.id}`);
    await page.locator('[data-testid="open-console-vnc"][aria-disabled="true"]').waitFor();
    await tabTo('open-console-vnc');
    const f = await focused();
    assert.equal(f.ariaDisabled, 'true', 'the console link is announced as disabled');
    assert.match(f.description, /console opens while the server is running/);
    assert.ok(f.descriptionVisible, 'the console reason is on screen');
    await page.keyboard.press('Enter');
    await sleep(400);
    assert.equal(new URL(page.url()).pathname, `/servers/${server.id}`, 'Enter on the disabled console link goes nowhere');
    await page.context().close();
  });
});
