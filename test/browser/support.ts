import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '@oblako/testing';
import { startE2E, type E2E } from '../e2e/support.js';

/** Screenshots land here (git-ignored); the best are copied to docs/screenshots by hand. */
export const SHOTS = resolve(fileURLToPath(import.meta.url), '../../../../test-results/screenshots');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface BrowserE2E extends E2E {
  browser: Browser;
  panelUrl: string;
}

/** The whole product (API, daemon on the test driver, panel) and a headless Chromium. */
export async function startBrowserE2E(): Promise<BrowserE2E> {
  const e = await startE2E({ panelPort: await freePort() });
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(SHOTS, { recursive: true });
    return {
      ...e,
      browser,
      panelUrl: e.stack.panelUrl!,
      async close() {
        await browser.close();
        await e.close();
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
  return page;
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

export const byTestId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);
