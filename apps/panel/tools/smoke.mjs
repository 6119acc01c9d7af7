#!/usr/bin/env node
/**
 * Smoke run of the panel in Debian's Chromium against a running API (the mock or the real one):
 *   node apps/panel/tools/smoke.mjs [baseUrl] [screenshotDir]
 * Customer: login → order (with a refused host name) → running without reload → stop → start →
 * delete (typed) → another server's URL says not found. Staff: nodes, register a node, IP pools.
 * A developer tool; the product's browser tests belong to the lead's stack (test/e2e).
 */
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.argv[2] ?? 'http://127.0.0.1:4300';
const shots = process.argv[3] ?? '/tmp/panel-shots';
const customer = { email: process.env.SMOKE_EMAIL ?? 'demo@example.com', password: process.env.SMOKE_PASSWORD ?? 'demo-password' };
const admin = { email: process.env.SMOKE_ADMIN_EMAIL ?? 'admin@example.com', password: process.env.SMOKE_ADMIN_PASSWORD ?? 'admin-password' };
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const errors = [];
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
const t = (id) => page.getByTestId(id);
const step = (s) => console.log(`· ${s}`);
const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

async function login(who) {
  await page.goto(base + '/login');
  await t('login-email').fill(who.email);
  await t('login-password').fill(who.password);
  await t('login-submit').click();
}

async function order(hostname, { withKey = false, badHostname = false } = {}) {
  await t('nav-order').click();
  await t('order-step-location').waitFor();
  await t('order-location').first().click();
  await t('order-next-location').click();
  await t('order-plan').first().click();
  await shot('order-plan');
  await t('order-next-plan').click();
  await t('order-image').first().click();
  await t('order-next-image').click();
  if (badHostname) {
    await t('order-hostname').fill('-bad-');
    await t('order-hostname-error').waitFor();
    console.log('  ', await t('order-hostname-error').innerText());
  }
  await t('order-hostname').fill(hostname);
  await t('order-next-hostname').click();
  if (withKey) {
    await t('order-add-key-name').fill('laptop');
    await t('order-add-key-value').fill('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIvcI3pbhDcTw7dl1Q/ATV9DVBkk8tfxbp4qYTgiCm3 smoke@panel');
    await t('order-add-key-submit').click();
    await page.locator('[data-testid=order-ssh-key][data-name=laptop]').waitFor({ timeout: 10000 }).catch(async () => {
      console.log('   key not added:', await t('order-add-key-error').innerText().catch(() => '?'));
    });
  }
  await t('order-next-keys').click();
  await shot('order-review');
  await t('order-submit').click();
  await t('server-page').waitFor();
  await page.waitForURL(/\/servers\/[^/]+$/);
}

try {
  step('login page refuses a wrong password with the API message');
  await page.goto(base + '/login');
  await t('login-email').fill(customer.email);
  await t('login-password').fill('wrong-password');
  await t('login-submit').click();
  await t('login-error').waitFor();
  console.log('  ', await t('login-error').innerText());
  await shot('login');

  step('a new customer signs up (a refused password first) and lands on the empty servers page');
  await t('go-signup').click();
  await t('signup-tenant').fill('Smoke Test Ltd');
  await t('signup-email').fill(`smoke-${Date.now().toString(36)}@example.com`);
  await t('signup-password').fill('short');
  await t('signup-submit').click();
  await page.getByText(/Use 10 to 256 characters/).waitFor({ timeout: 5000 });
  await t('signup-password').fill('a-long-enough-password');
  await t('signup-submit').click();
  await t('servers-page').waitFor();
  await t('empty-state').waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-testid=loading]'));
  await shot('servers-empty');

  step('order: location → plan → image → host name (refused, then good) → keys → create');
  const hostname = `web-${Date.now().toString(36)}`;
  await order(hostname, { withKey: true, badHostname: true });
  const serverUrl = page.url();

  step('the server shows running without a reload');
  await page.locator('[data-testid=server-state][data-state=running]').waitFor({ timeout: 60000 });
  await shot('server-running');

  for (const [action, state] of [['stop', 'stopped'], ['start', 'running']]) {
    step(`${action} with confirmation → ${state}`);
    await t(`action-${action}`).click();
    await t('confirm-submit').click();
    await page.locator(`[data-testid=server-state][data-state=${state}]`).waitFor({ timeout: 60000 });
  }
  step('rebuild: choose the image, type the host name → running again');
  await t('action-rebuild').click();
  await t('confirm-input').waitFor();
  await t('confirm-input').fill(hostname);
  await t('confirm-submit').click();
  await page.locator('[data-testid=task-row][data-op=rebuild]').first().waitFor({ timeout: 60000 });
  await page.locator('[data-testid=server-state][data-state=running]').waitFor({ timeout: 60000 });
  await shot('server-tasks');

  step('team: add an existing account as a member, then make it billing');
  await t('nav-team').click();
  await t('member-email').fill(customer.email);
  await t('member-add').click();
  const memberRow = page.locator(`[data-testid=member-row][data-email="${customer.email}"]`);
  await memberRow.waitFor();
  await memberRow.getByTestId('member-role-select').click();
  await page.getByRole('option', { name: 'billing' }).click();
  await page.locator(`[data-testid=member-row][data-email="${customer.email}"][data-role=billing]`).waitFor();
  await shot('team');
  await page.goto(serverUrl);

  step('the list shows the server with its state');
  await t('back-to-servers').click();
  await page.locator(`[data-testid=server-row][data-hostname="${hostname}"][data-state=running]`).waitFor();
  await shot('servers-list');

  step('delete needs the host name typed');
  await page.goto(serverUrl);
  await t('action-delete').click();
  await t('confirm-input').waitFor();
  if (await t('confirm-submit').isEnabled()) throw new Error('delete confirm enabled before typing');
  await t('confirm-input').fill(hostname);
  await t('confirm-submit').click();
  await t('server-deleted').waitFor({ timeout: 60000 });

  step('another tenant\'s (or no) server URL says not found');
  await page.goto(base + '/servers/00000000-0000-4000-8000-000000000000');
  await t('server-not-found').waitFor();

  step('a second server to keep (staff suspend it below)');
  const kept = `keep-${Date.now().toString(36)}`;
  await order(kept);
  await page.locator('[data-testid=server-state][data-state=running]').waitFor({ timeout: 60000 });

  step('logout');
  await t('user-menu').click();
  await t('logout').click();
  await t('logged-out').waitFor();

  step('staff logs in and lands on all servers');
  await login(admin);
  await t('admin-servers-page').waitFor();
  step('staff: suspend and unsuspend a customer server (with a reason)');
  const keptRow = page.locator(`[data-testid=admin-server-row][data-hostname="${kept}"]`);
  await keptRow.getByTestId('admin-server-suspend').click();
  await t('confirm-reason').fill('smoke test');
  await t('confirm-submit').click();
  await page.locator(`[data-testid=admin-server-row][data-hostname="${kept}"][data-state=suspended]`).waitFor({ timeout: 60000 });
  await shot('admin-servers');
  await keptRow.getByTestId('admin-server-unsuspend').click();
  await t('confirm-reason').fill('smoke test done');
  await t('confirm-submit').click();
  await page.locator(`[data-testid=admin-server-row][data-hostname="${kept}"]:not([data-state=suspended])`).waitFor({ timeout: 60000 });
  step('staff: nodes with capacity, maintenance, register a node; IP pools with usage');
  await t('nav-admin-nodes').click();
  await t('nodes-page').waitFor();
  await t('node-row').first().waitFor();
  await t('node-add-toggle').click();
  await t('node-name').fill(`hv-${Date.now().toString(36)}`);
  await t('node-submit').click();
  await t('node-registration').waitFor();
  await t('node-maintenance').first().click();
  await t('confirm-submit').click();
  await page.locator('[data-testid=node-row][data-state=maintenance]').first().waitFor();
  await t('node-end-maintenance').first().click();
  await t('confirm-submit').click();
  await page.locator('[data-testid=node-row][data-state=maintenance]').waitFor({ state: 'detached' });
  await shot('admin-nodes');
  await t('nav-admin-ip-pools').click();
  await t('ip-pool-row').first().waitFor();
  await t('ip-pool-add-toggle').click();
  await t('ip-pool-cidr').fill('198.51.100.0/24');
  await t('ip-pool-gateway').fill('198.51.100.1');
  await t('ip-pool-submit').click();
  await page.locator('[data-testid=ip-pool-row][data-cidr="198.51.100.0/24"]').first().waitFor();
  await shot('admin-ip-pools');
  step('staff: catalogue (add a location and a plan, retire and offer the plan again)');
  await t('nav-admin-locations').click();
  await t('location-add-toggle').click();
  const code = `s${Date.now().toString(36).slice(-5)}`;
  await t('location-code').fill(code);
  await t('location-name').fill('Smoke City ' + code);
  await t('location-country').fill('NL');
  await t('location-submit').click();
  await page.locator(`[data-testid=admin-location-row][data-code=${code}]`).waitFor();
  await t('nav-admin-plans').click();
  await t('plan-add-toggle').click();
  const planName = 'Smoke ' + code;
  await t('plan-name').fill(planName);
  await t('plan-price').fill('7.5');
  await t('plan-submit').click();
  const planRow = page.locator(`[data-testid=admin-plan-row][data-name="${planName}"]`);
  await planRow.waitFor();
  await planRow.getByTestId('plan-toggle').click();
  await planRow.getByText('Offer').waitFor();
  await planRow.getByTestId('plan-toggle').click();
  await planRow.getByText('Retire').waitFor();
  await shot('admin-plans');

  step('staff: tenants with a server limit');
  await t('nav-admin-tenants').click();
  await t('tenant-row').first().waitFor();
  await t('tenant-limit-input').first().fill('5');
  await t('tenant-limit-save').first().click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=tenant-limit-save][disabled]'));
  const tenantErr = await t('tenant-error').innerText().catch(() => '');
  if (tenantErr) throw new Error('tenant limit: ' + tenantErr);
  await shot('admin-tenants');
  const staffPages = { 'nav-admin-plans': 'admin-plans-page', 'nav-admin-images': 'admin-images-page', 'nav-admin-locations': 'admin-locations-page', 'nav-admin-tasks': 'failed-tasks-page', 'nav-admin-audit': 'audit-page' };
  for (const [nav, pageId] of Object.entries(staffPages)) {
    await t(nav).click();
    await t(pageId).waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid=loading]'));
    const err = await t('load-error').innerText().catch(() => '');
    console.log(`   ${nav}: ${err ? 'error: ' + err.replace(/\s+/g, ' ').replace(/Try again$/, '') : 'ok'}`);
  }
  step('mobile layout');
  await page.setViewportSize({ width: 390, height: 800 });
  await t('nav-toggle').click();
  await shot('mobile-nav');
  console.log(errors.length ? `console errors:\n  ${errors.join('\n  ')}` : 'no console errors');
  console.log('SMOKE OK');
} catch (e) {
  await shot('failure').catch(() => undefined);
  console.log(errors.length ? `console errors:\n  ${errors.join('\n  ')}` : 'no console errors');
  console.error('SMOKE FAILED:', e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
