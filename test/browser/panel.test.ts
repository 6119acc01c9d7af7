import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { uniqueName } from '@oblako/testing';
import { byTestId, newPage, shot, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

async function signUp(page: Page, label: string): Promise<string> {
  const email = `${uniqueName(label)}@browser.test`;
  await page.goto('/signup');
  await byTestId(page, 'signup-email').fill(email);
  await byTestId(page, 'signup-password').fill('correct horse battery staple');
  await byTestId(page, 'signup-tenant').fill(`${label} Hosting`);
  await byTestId(page, 'signup-submit').click();
  await page.waitForURL(/\/(servers|order)/);
  // Ordering needs a confirmed address: the link from the verification mail.
  await b.stack.verifyEmail(email);
  return email;
}

async function stateOf(page: Page, state: string, timeout = 30_000): Promise<void> {
  try {
    await page.locator(`[data-testid="server-state"][data-state="${state}"]`).waitFor({ timeout });
  } catch (err) {
    await shot(page, `failed-waiting-for-${state}`).catch(() => {});
    const shown = await page.locator('[data-testid="server-state"]').getAttribute('data-state').catch(() => 'none');
    const task = await page.locator('[data-testid="task-progress"]').innerText().catch(() => 'no task shown');
    throw new Error(`the page never showed "${state}" (it shows "${shown}"; task: ${task}): ${(err as Error).message}`);
  }
}

async function confirm(page: Page, typed?: string): Promise<void> {
  if (typed !== undefined) await byTestId(page, 'confirm-input').fill(typed);
  await byTestId(page, 'confirm-submit').click();
}

let serverUrlOfA = '';

describe('the panel in a real browser against the real stack', () => {
  test('a customer signs up, orders a server, sees it running without a reload, stops, starts and deletes it', async () => {
    const page = await newPage(b);
    let reloads = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) reloads++;
    });
    await signUp(page, 'alpha');
    await shot(page, '01-servers-empty');

    await page.goto('/order');
    await byTestId(page, 'order-location').first().click();
    await byTestId(page, 'order-next-location').click();
    await byTestId(page, 'order-plan').first().click();
    await shot(page, '02-order-plan');
    await byTestId(page, 'order-next-plan').click();
    await byTestId(page, 'order-image').first().click();
    await byTestId(page, 'order-next-image').click();

    // bad input is refused before it reaches the API, with the reason
    await byTestId(page, 'order-hostname').fill('bad_host!');
    await byTestId(page, 'order-hostname').blur();
    await byTestId(page, 'order-hostname-error').waitFor();
    assert.match(await byTestId(page, 'order-hostname-error').innerText(), /letters, digits and hyphens/);
    assert.equal(await byTestId(page, 'order-next-hostname').isDisabled(), true);
    await byTestId(page, 'order-hostname').fill('web-1.alpha.example');
    await byTestId(page, 'order-next-hostname').click();
    await byTestId(page, 'order-next-keys').click();
    await shot(page, '03-order-review');
    const navigationsBeforeSubmit = reloads;
    await byTestId(page, 'order-submit').click();

    await page.waitForURL(/\/servers\/[0-9a-f-]{36}$/);
    serverUrlOfA = new URL(page.url()).pathname;
    await stateOf(page, 'running');
    assert.ok(reloads - navigationsBeforeSubmit <= 1, 'the state changed to running without reloading the page');
    assert.match(await byTestId(page, 'server-address').first().innerText(), /^\d+\.\d+\.\d+\.\d+\/32/);
    await shot(page, '04-server-running');

    await byTestId(page, 'action-stop').click();
    await confirm(page);
    await stateOf(page, 'stopped');
    await byTestId(page, 'action-start').click();
    await confirm(page).catch(() => {});
    await stateOf(page, 'running');
    await byTestId(page, 'task-row').nth(2).waitFor();
    await shot(page, '05-server-tasks');

    // the list shows it with its state and address
    await page.goto('/servers');
    await page.locator('[data-testid="server-row"]').first().waitFor();
    assert.match(await byTestId(page, 'servers-table').innerText(), /web-1\.alpha\.example/);
    await shot(page, '06-servers-list');

    await page.goto(serverUrlOfA);
    await stateOf(page, 'running');
    await byTestId(page, 'action-delete').click();
    // the delete button stays disabled until the host name is typed
    await byTestId(page, 'confirm-input').fill('web-1');
    assert.equal(await byTestId(page, 'confirm-submit').isDisabled(), true);
    await confirm(page, 'web-1.alpha.example');
    await byTestId(page, 'server-deleted').or(page.locator('[data-testid="server-state"][data-state="deleted"]')).first().waitFor({ timeout: 20_000 });
    await page.context().close();
  });

  test("another tenant opening the first tenant's server URL sees 'not found'", async () => {
    assert.ok(serverUrlOfA, 'the first test made a server');
    const page = await newPage(b);
    await signUp(page, 'beta');
    await page.goto(serverUrlOfA);
    await byTestId(page, 'server-not-found').waitFor();
    assert.match(await byTestId(page, 'server-not-found').innerText(), /not found|no server/i);
    await shot(page, '07-other-tenant-not-found');
    await page.context().close();
  });

  test('staff register a node and an IP pool and see their capacity', async () => {
    const page = await newPage(b);
    await page.goto('/login');
    await byTestId(page, 'login-email').fill('admin@e2e.test');
    await byTestId(page, 'login-password').fill(b.adminPassword);
    await byTestId(page, 'login-submit').click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    await page.goto('/admin/nodes');
    await byTestId(page, 'node-add-toggle').click();
    await page.locator('input[data-testid="node-name"]').fill('hv-browser-2');
    await byTestId(page, 'node-location').click();
    await page.locator('mat-option').first().click();
    await page.locator('input[data-testid="node-vcpus"]').fill('32');
    await page.locator('input[data-testid="node-memory"]').fill('65536');
    await page.locator('input[data-testid="node-disk"]').fill('2000');
    await byTestId(page, 'node-submit').click();
    await byTestId(page, 'node-registration').waitFor();
    // the one command to run on the hypervisor, with its single-use token in bash's environment
    const joinCommand = await byTestId(page, 'node-join-command').innerText();
    assert.match(joinCommand, /^curl -fsS .*\/api\/v1\/join\/node\.sh' \| OBLAKO_URL='[^']+' OBLAKO_JOIN_TOKEN='ojt_[A-Za-z0-9_-]{43}' bash$/);
    // the settings under the names the node daemon reads
    const settings = await byTestId(page, 'node-daemon-config').innerText();
    assert.match(settings, /^NODE_ID=[0-9a-f-]{36}$/m);
    assert.match(settings, /^NATS_URL=nats:\/\//m);
    assert.match(settings, /^NATS_SUBJECT_PREFIX=\S+$/m);
    const row = page.locator('[data-testid="node-row"][data-name="hv-browser-2"]');
    await row.waitFor();
    const capacity = await row.innerText();
    assert.match(capacity, /0 \/ 128/, '32 vCPUs under the default CPU overcommit of 4, none used');
    assert.match(capacity, /0 MiB \/ 64 GiB/);
    assert.match(capacity, /2\.0 TiB/);
    await shot(page, '08-admin-nodes');

    await page.goto('/admin/ip-pools');
    await byTestId(page, 'ip-pool-add-toggle').click();
    await byTestId(page, 'ip-pool-location').click();
    await page.locator('mat-option').first().click();
    await page.locator('input[data-testid="ip-pool-cidr"]').fill('203.0.113.0/28');
    await page.locator('input[data-testid="ip-pool-gateway"]').fill('203.0.113.1');
    await byTestId(page, 'ip-pool-submit').click();
    const pool = page.locator('[data-testid="ip-pool-row"][data-cidr="203.0.113.0/28"]');
    await pool.waitFor();
    assert.match(await pool.innerText(), /0\s*\/\s*13|13 free|0 of 13/);
    await shot(page, '09-admin-ip-pools');

    // a pool whose gateway lies outside its block is refused with the API's reason
    if (!(await byTestId(page, 'ip-pool-form').isVisible())) await byTestId(page, 'ip-pool-add-toggle').click();
    await byTestId(page, 'ip-pool-location').click();
    await page.locator('mat-option').first().click();
    await page.locator('input[data-testid="ip-pool-cidr"]').fill('198.51.100.0/28');
    await page.locator('input[data-testid="ip-pool-gateway"]').fill('192.0.2.1');
    await byTestId(page, 'ip-pool-submit').click();
    await page.getByText(/gateway/i).filter({ hasText: /outside|within|inside|not in/i }).first().waitFor();
    await page.context().close();
  });
});
