import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, uniqueName } from '@oblako/testing';
import { ApiClient, type StackOptions } from '@oblako/devstack';
import { startE2E, type E2E } from '../e2e/support.js';

/** Screenshots land here (git-ignored); the best are copied to docs/screenshots by hand. */
export const SHOTS = resolve(fileURLToPath(import.meta.url), '../../../../test-results/screenshots');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface BrowserE2E extends E2E {
  browser: Browser;
  panelUrl: string;
  /** Every content-security-policy violation the panel's pages reported (the console's "Refused to ..."). */
  cspViolations: string[];
}

/** The whole product (API, daemon on the test driver, panel) and a headless Chromium. */
export async function startBrowserE2E(overrides: Partial<StackOptions> = {}): Promise<BrowserE2E> {
  const e = await startE2E({ panelPort: await freePort(), ...overrides });
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(SHOTS, { recursive: true });
    const cspViolations: string[] = [];
    return {
      ...e,
      browser,
      panelUrl: e.stack.panelUrl!,
      cspViolations,
      async close() {
        await browser.close();
        await e.close();
        // The panel is served with a strict CSP (tools/devstack/src/panel-server.ts): any page any test
        // opened that broke it fails the file.
        if (cspViolations.length) throw new Error(`content security policy violations:\n${cspViolations.join('\n')}`);
      },
    };
  } catch (err) {
    await e.close();
    throw err;
  }
}

export async function newPage(b: BrowserE2E, width = 1280, height = 860): Promise<Page> {
  const ctx = await b.browser.newContext({ viewport: { width, height }, baseURL: b.panelUrl });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|apply|execute|connect|frame)/i.test(m.text())) b.cspViolations.push(`${page.url()}: ${m.text()}`);
  });
  return page;
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

export const byTestId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

/** Log in through the login page and wait to leave it. */
export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await byTestId(page, 'login-email').fill(email);
  await byTestId(page, 'login-password').fill(password);
  await byTestId(page, 'login-submit').click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/** The password of the customers the browser tests register. */
export const CUSTOMER_PASSWORD = 'correct horse battery staple';

/**
 * A tenant registered over the API with its owner's e-mail verified: the e-mail, a client signed in as the owner,
 * and the tenant's name, `<label> Hosting` (with a random suffix when `uniqueTenant`: tests that pick it out by name).
 */
export async function registerCustomer(b: BrowserE2E, label: string, opts: { uniqueTenant?: boolean } = {}): Promise<{ email: string; api: ApiClient; tenant: string }> {
  const email = `${uniqueName(label)}@browser.test`;
  const api = new ApiClient(b.stack.apiUrl);
  const tenant = opts.uniqueTenant ? `${label} Hosting ${uniqueName('t').slice(-4)}` : `${label} Hosting`;
  await api.register(email, CUSTOMER_PASSWORD, tenant);
  await b.stack.verifyEmail(email);
  return { email, api, tenant };
}

/** A page signed in as the seeded staff admin. */
export async function staffPage(b: BrowserE2E, width?: number, height?: number): Promise<Page> {
  const page = await newPage(b, width, height);
  await logIn(page, 'admin@e2e.test', b.adminPassword);
  return page;
}
