/**
 * Issue 15's accessibility proof: axe-core (run inside Chromium through Playwright) over the panel's
 * main pages, customer and staff, finds no serious or critical violation; and the phone-size
 * screenshots of the server list and the server page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { ServerView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { uniqueName } from '@oblako/testing';
import { waitForState } from '../e2e/support.js';
import { byTestId, logIn, newPage, shot, startBrowserE2E, type BrowserE2E } from './support.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSWORD = 'correct horse battery staple';

let b: BrowserE2E;
let email = '';
let server: ServerView;
before(async () => {
  b = await startBrowserE2E();
  email = `${uniqueName('a11y')}@browser.test`;
  const api = new ApiClient(b.stack.apiUrl);
  await api.register(email, PASSWORD, 'Accessible Hosting');
  await b.stack.verifyEmail(email);
  const seed = b.stack.seed;
  // a second table for the phone check: the SSH key list becomes cards too
  await api.ok('POST', '/api/v1/ssh-keys', { name: 'laptop', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGHzH9n07OGOJKwbUH3NRS15INZCUvwcN0itAFhTZZ2/ a11y@phone' });
  const placed = await api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname: 'a11y-web-1' });
  server = await waitForState(api, placed.id, 'running', 60_000);
});
after(async () => {
  await b?.close();
});

/** How far the page scrolls sideways, in the browser (a function source Playwright sends over). */
const scrollOverflow = () => {
  const el = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
  return el.scrollWidth - el.clientWidth;
};

interface AxeViolation { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }

/** axe's serious and critical findings on the page as it stands (WCAG 2.x A and AA rules, best practices). */
async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // The panel's CSP allows no inline script; axe goes in as the test's own evaluation, which CSP does not govern.
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function check(page: Page, path: string, ready: string, checked: string[], problems: string[]): Promise<void> {
  await page.goto(path);
  await byTestId(page, ready).waitFor();
  await page.waitForLoadState('networkidle').catch(() => undefined);
  for (const v of await seriousViolations(page)) {
    problems.push(`${path}: [${v.impact}] ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  }
  checked.push(path);
}

describe('accessibility and phones', () => {
  test('axe-core finds no serious or critical violation on the main pages, for customers and staff, wide and phone-sized', async () => {
    const checked: string[] = [];
    const problems: string[] = [];
    const pages: [string, string][] = [
      ['/servers', 'servers-page'],
      [`/servers/${server.id}`, 'server-state'],
      ['/order', 'order-location'],
      ['/ssh-keys', 'ssh-keys-page'],
      ['/account', 'account-page'],
    ];
    for (const [w, h] of [[1280, 860], [390, 844]] as const) {
      const page = await newPage(b, w, h);
      await page.goto('/login');
      await byTestId(page, 'login-form').waitFor();
      for (const v of await seriousViolations(page)) problems.push(`/login (${w}px): [${v.impact}] ${v.id}: ${v.help}`);
      await logIn(page, email, PASSWORD);
      for (const [path, ready] of pages) await check(page, path, ready, checked, problems);
      await page.context().close();
    }
    const staff = await newPage(b);
    await logIn(staff, 'admin@e2e.test', b.adminPassword);
    for (const [path, ready] of [['/admin/servers', 'admin-servers-page'], ['/admin/nodes', 'nodes-page'], ['/admin/plans', 'admin-plans-page'], ['/admin/isos', 'admin-isos-page'], ['/admin/tenants', 'tenants-page'], ['/admin/settings', 'settings-page']] as const) {
      await check(staff, path, ready, checked, problems);
    }
    await staff.context().close();
    console.log(`axe-core: ${checked.length} page views checked (${checked.join(', ')}), ${problems.length} serious or critical`);
    assert.deepEqual(problems, []);
  });

  test('at phone size the server list and the server page fit the screen (no sideways scrolling); screenshots', async () => {
    const page = await newPage(b, 390, 844);
    await logIn(page, email, PASSWORD);
    await page.goto('/servers');
    await page.locator('[data-testid="server-row"], [data-testid="server-card"]').first().waitFor();
    const wide = await page.evaluate(scrollOverflow);
    // Cards, not a clipped table: no header row, and every cell of the row lies inside the screen.
    assert.equal(await page.locator('[data-testid="servers-table"] .mat-mdc-header-row').isVisible(), false, 'no table header on a phone');
    const cells = await page.locator('[data-testid="server-row"]').first().locator('td').evaluateAll((tds) =>
      tds.map((td) => (td as unknown as { getBoundingClientRect(): { right: number; width: number } }).getBoundingClientRect()).map((r) => ({ right: r.right, width: r.width })));
    assert.ok(cells.length >= 4 && cells.every((c) => c.width > 0 && c.right <= 390), `every cell of the card is on screen: ${JSON.stringify(cells)}`);
    await shot(page, '40-phone-servers');
    await page.goto(`/servers/${server.id}`);
    await byTestId(page, 'server-state').waitFor();
    const wide2 = await page.evaluate(scrollOverflow);
    await shot(page, '41-phone-server');
    assert.ok(wide <= 0, `the server list scrolls sideways by ${wide} px on a phone`);
    assert.ok(wide2 <= 0, `the server page scrolls sideways by ${wide2} px on a phone`);

    // a second table: the SSH keys, one card per key, each value named by its column's label
    await page.goto('/ssh-keys');
    await byTestId(page, 'ssh-keys-table').waitFor();
    assert.equal(await page.locator('[data-testid="ssh-keys-table"] .mat-mdc-header-row').isVisible(), false, 'no table header for the SSH keys on a phone');
    const keyCells = await page.locator('[data-testid="ssh-keys-table"] .mat-mdc-row').first().locator('td').evaluateAll((tds) => tds.map((td) => {
      const el = td as unknown as { getBoundingClientRect(): { right: number; width: number }; getAttribute(n: string): string | null };
      const before = (globalThis as unknown as { getComputedStyle(e: unknown, p: string): { content: string } }).getComputedStyle(td, '::before').content;
      const r = el.getBoundingClientRect();
      return { label: el.getAttribute('data-label'), before, right: r.right, width: r.width };
    }));
    const fp = keyCells.find((c) => c.label === 'Fingerprint');
    assert.ok(fp && fp.before === '"Fingerprint"', `the fingerprint is labelled on its card: ${JSON.stringify(keyCells)}`);
    assert.ok(keyCells.every((c) => c.right <= 390), `every cell of the key's card is on screen: ${JSON.stringify(keyCells)}`);
    assert.ok((await page.evaluate(scrollOverflow)) <= 0, 'the SSH key list does not scroll sideways on a phone');
    await shot(page, '43-phone-ssh-keys');
    await page.context().close();
  });
});
