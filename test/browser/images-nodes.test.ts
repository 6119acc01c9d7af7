/**
 * Staff pages of issues 13 and 15 in the browser, with the real API, node daemon (libvirt's test driver) and
 * panel: the Images page shows where each image stands on each node (a wrong checksum as failed with the node's
 * reason, "not offered"), "Verify now" checks it again and the row turns verified; the node page shows the
 * heartbeat history (time, age, domains, load) and, on a phone, as cards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ApiClient } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import { byTestId, shot, staffPage, startBrowserE2E, type BrowserE2E } from './support.js';

const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
let b: BrowserE2E;
let dir: string;
let badFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oblako-images-browser-'));
  const good = join(dir, 'good.qcow2');
  badFile = join(dir, 'later.raw');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', good, '1G']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', badFile, '1M']);
  const goodSha = createHash('sha256').update(readFileSync(good)).digest('hex');
  b = await startBrowserE2E({
    apiEnv: { REQUIRE_VERIFIED_IMAGES: 'true' },
    seed: {
      adminEmail: 'admin@e2e.test',
      adminPassword: uniqueName('pw'),
      images: [
        { name: 'Good image', osFamily: 'debian', version: '12', url: `file://${good}`, sha256: goodSha, format: 'qcow2' },
        // seeded with the checksum of an empty file: the 1 MiB file there now does not match
        { name: 'Wrong checksum', osFamily: 'alpine', version: '3.20', url: `file://${badFile}`, sha256: EMPTY_SHA, format: 'raw' },
      ],
    },
  });
});
after(async () => {
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

const nodeState = (page: Page, image: string) => page.locator(`[data-testid="admin-image-row"][data-name="${image}"] [data-testid="image-node-state"]`).first();

test('the Images page shows each node’s check; a mismatch shows its reason; Verify now checks again and the image is offered', async () => {
  const page = await staffPage(b);
  // the node checks the seeded images by itself; the page shows the outcome once loaded after it
  await waitFor('both images checked', async () => {
    await page.goto('/admin/images');
    await byTestId(page, 'admin-images-table').waitFor();
    const good = await nodeState(page, 'Good image').getAttribute('data-state');
    const bad = await nodeState(page, 'Wrong checksum').getAttribute('data-state');
    return (good === 'verified' && bad === 'failed') || undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  const badRow = page.locator('[data-testid="admin-image-row"][data-name="Wrong checksum"]');
  assert.match(await badRow.locator('[data-testid="image-node-reason"]').innerText(), new RegExp(`has sha256 [0-9a-f]{64}, expected ${EMPTY_SHA}`));
  assert.ok(await badRow.locator('[data-testid="image-not-offered"]').isVisible(), 'staff see that customers are not offered it');
  assert.equal(await page.locator('[data-testid="admin-image-row"][data-name="Good image"] [data-testid="image-not-offered"]').count(), 0);

  const customer = new ApiClient(b.stack.apiUrl);
  const email = `${uniqueName('img')}@browser.test`;
  await customer.register(email, 'correct horse battery staple', 'Image Customer');
  assert.deepEqual((await customer.ok<{ name: string }[]>('GET', '/api/v1/images')).map((i) => i.name), ['Good image']);
  await shot(page, '45-admin-images-verification');

  // the file at the URL now matches the checksum (an empty raw disk): Verify now, and the row follows
  truncateSync(badFile, 0);
  await badRow.locator('[data-testid="image-verify"]').click();
  await page.locator('[data-testid="admin-image-row"][data-name="Wrong checksum"] [data-testid="image-node-state"][data-state="verified"]').waitFor({ timeout: 60_000 });
  assert.equal(await badRow.locator('[data-testid="image-not-offered"]').count(), 0);
  assert.deepEqual((await customer.ok<{ name: string }[]>('GET', '/api/v1/images')).map((i) => i.name).sort(), ['Good image', 'Wrong checksum']);
  await page.context().close();
});

test('the node page shows the heartbeat history: time, age, domains and load, newest first; cards on a phone', async () => {
  const page = await staffPage(b);
  await page.goto(`/admin/nodes/${b.stack.seed.nodeId}`);
  await byTestId(page, 'node-page').waitFor();
  // heartbeats come every 2 s in the test stack: reload until a few are kept
  await waitFor('three heartbeats in the history', async () => {
    await page.reload();
    await byTestId(page, 'node-page').waitFor();
    if ((await byTestId(page, 'node-heartbeat-row').count()) >= 3) return true;
    const kept = await b.admin.call('GET', `/api/v1/admin/nodes/${b.stack.seed.nodeId}/heartbeats`);
    throw new Error(`the page shows ${await byTestId(page, 'node-heartbeat-row').count()} rows; the API answers ${kept.status} with ${JSON.stringify(kept.body).slice(0, 300)}`);
  }, { timeoutMs: 30_000, intervalMs: 1000 });
  const first = byTestId(page, 'node-heartbeat-row').first();
  assert.match(await first.innerText(), /\d+ s ago/);
  assert.match(await first.locator('[data-testid="heartbeat-domains"]').innerText(), /^\d+$/);
  assert.match(await first.locator('[data-testid="heartbeat-load"]').innerText(), /^\d+(\.\d+)?$/, 'the daemon sends its load');
  await shot(page, '44-admin-node-heartbeats');
  await page.context().close();

  const phone = await staffPage(b, 390, 844);
  await phone.goto(`/admin/nodes/${b.stack.seed.nodeId}`);
  await byTestId(phone, 'node-heartbeats').waitFor();
  assert.equal(await phone.locator('[data-testid="node-heartbeats"] .mat-mdc-header-row').isVisible(), false, 'no table header on a phone');
  const overflow = await phone.evaluate(() => {
    const el = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
    return el.scrollWidth - el.clientWidth;
  });
  assert.ok(overflow <= 0, `the node page scrolls sideways by ${overflow} px on a phone`);
  await phone.context().close();
});
