/**
 * Usage graphs in Chromium against the real stack (issue 11, "Graphs"): usage a node reports (published on NATS the
 * way a daemon does, taken in by the API's ingest into samples and rollups) is drawn on the server page for its owner
 * and on the node page for staff. The test reads what a person (or a screen reader) gets: the numbers in the table
 * behind the charts, the step of each range, a gap where the server was off, the chart's spoken summary; it takes the
 * screenshots docs/screenshots/50 and 51.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EventKind, subjects, WIRE_VERSION, type ServerView, type UsageSample } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { uniqueName, waitFor } from '@oblako/testing';
import type { Page } from 'playwright-core';
import { waitForState } from '../e2e/support.js';
import { byTestId, logIn, newPage, SHOTS, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  // the daemon meters nothing here: every sample is one this test sends, so every number is known
  b = await startBrowserE2E({ daemonEnv: { USAGE_INTERVAL_MS: '0' } });
});
after(async () => {
  await b?.close();
});

const PASSWORD = 'correct horse battery staple';
const MIN = 60_000;

/** One minute of usage ending `to`: 30 s of CPU, 1 Mbit/s in (× inScale), 200 kbit/s out, 100 kB/s read, 50 kB/s write, 10 / 5 IOPS. */
function sample(serverId: string, to: number, inScale = 1): UsageSample {
  return {
    id: randomUUID(), serverId, from: to - MIN, to, cpuNs: 30e9, diskReadBytes: 6_000_000, diskWriteBytes: 3_000_000, diskReadOps: 600, diskWriteOps: 300,
    netInBytes: 7_500_000 * inScale, netOutBytes: 1_500_000, memoryBytes: 300 * 1024 * 1024,
  };
}

async function rowText(page: Page, t: string): Promise<string> {
  return page.locator(`[data-testid="usage-row"][data-t="${t}"]`).innerText();
}

async function showRange(page: Page, range: string, step: number, points: number): Promise<void> {
  await byTestId(page, `usage-range-${range}`).click();
  await page.locator(`[data-testid="usage-graphs"][data-range="${range}"] [data-testid="usage-step"][data-step="${step}"]`).waitFor();
  await waitFor(`${points} rows for ${range}`, async () => ((await page.locator('[data-testid="usage-row"]').count()) === points ? true : undefined), { timeoutMs: 10_000 });
  assert.equal(await byTestId(page, `usage-range-${range}`).getAttribute('aria-pressed'), 'true');
}

describe('usage graphs', () => {
  test('the server page draws CPU, network and disk per range with the numbers behind them and a gap where the server was off; staff see the node', async () => {
    const email = `${uniqueName('graphs')}@browser.test`;
    const api = new ApiClient(b.stack.apiUrl);
    await api.register(email, PASSWORD, `Graphs Hosting ${uniqueName('t').slice(-4)}`);
    await b.stack.verifyEmail(email);
    const seed = b.stack.seed;
    const order = async (hostname: string) => {
      const s = await api.ok<ServerView>('POST', '/api/v1/servers', { locationId: seed.locationId, planId: seed.planIds.small, imageId: seed.imageIds[0], hostname });
      return waitForState(api, s.id, 'running');
    };
    const web = await order('graphs-web');
    const db = await order('graphs-db');

    // minutes 30..21 ago at 1 Mbit/s in, off for minutes 20..13, minutes 12..3 ago at 2 Mbit/s; and one minute 3 days ago.
    // Each sample ends mid-minute, so the minute it belongs to is certain; a point's t is the end of its minute.
    const base = Math.floor(Date.now() / MIN) * MIN;
    const end = (k: number) => base - k * MIN + MIN;
    const to = (k: number) => base - k * MIN + 30_000;
    const first = Array.from({ length: 10 }, (_, i) => 30 - i);
    const second = Array.from({ length: 10 }, (_, i) => 12 - i);
    const old = base - 3 * 86_400_000 + 30_000;
    const samples = [...first.map((k) => sample(web.id, to(k))), ...second.map((k) => sample(web.id, to(k), 2)), sample(web.id, old), ...first.map((k) => sample(db.id, to(k)))];
    const nc = await connect({ servers: b.stack.natsUrl });
    try {
      const js = jetstream(nc);
      await js.publish(subjects(b.stack.subjectPrefix).nodeEvent(seed.nodeId, EventKind.Usage), JSON.stringify({ v: WIRE_VERSION, nodeId: seed.nodeId, at: Date.now(), samples }), {
        msgID: `usage:${samples[0]!.id}:${samples.length}`,
      });
    } finally {
      await nc.close();
    }
    await waitFor('the API took the samples in', async () => {
      const r = await api.call<{ totals: { netInBytes: number } }>('GET', `/api/v1/servers/${web.id}/usage?range=7d`);
      return r.body.totals?.netInBytes === 7_500_000 * (10 + 20 + 1) ? true : undefined;
    }, { timeoutMs: 30_000 });

    const page = await newPage(b);
    await logIn(page, email, PASSWORD);
    await page.goto(`/servers/${web.id}`);
    const graphs = byTestId(page, 'usage-graphs');
    await graphs.waitFor();
    // 24 hours by default: a point every 5 minutes
    await page.locator('[data-testid="usage-graphs"][data-range="24h"] [data-testid="usage-step"][data-step="300"]').waitFor();
    assert.equal(await page.locator('[data-testid="usage-row"]').count(), 288);

    await showRange(page, '1h', 60, 60);
    await byTestId(page, 'usage-table-details').locator('summary').click();
    const cpu = `${Number((50 / web.plan.vcpus).toFixed(50 / web.plan.vcpus >= 10 ? 0 : 1))} %`;
    const a = await rowText(page, new Date(end(25)).toISOString());
    for (const want of [cpu, '1 Mbit/s', '200 kbit/s', '100 kB/s', '50 kB/s', '10 IOPS', '5 IOPS']) assert.ok(a.includes(want), `a minute at 1 Mbit/s shows ${want}: ${a}`);
    assert.match(await rowText(page, new Date(end(5)).toISOString()), /2 Mbit\/s/);
    // the minutes it was off are gaps, not zeros
    const off = page.locator(`[data-testid="usage-row"][data-t="${new Date(end(16)).toISOString()}"]`);
    assert.equal(await off.getAttribute('data-gap'), 'true');
    assert.match(await off.innerText(), /no data/);
    assert.equal(await page.locator('[data-testid="usage-row"][data-gap="false"]').count(), 20);
    // every chart is drawn and says what it shows
    for (const key of ['cpu', 'net', 'disk', 'iops']) {
      const fig = byTestId(page, `usage-chart-${key}`);
      assert.ok((await fig.locator('canvas').count()) >= 1, `${key}: a canvas`);
      assert.match((await fig.locator('[role="img"]').getAttribute('aria-label')) ?? '', /20 of 60 points have data, 2 gaps/, key);
    }
    const net = (await byTestId(page, 'usage-chart-net').locator('[role="img"]').getAttribute('aria-label')) ?? '';
    assert.match(net, /In: latest 2 Mbit\/s, peak 2 Mbit\/s/);
    await byTestId(page, 'usage-table-details').locator('summary').click();
    await graphs.screenshot({ path: join(SHOTS, '50-server-usage-graphs.png') });

    // 7 days: hourly points; the minute 3 days ago is there at its rate, the 24 hours did not have it
    await showRange(page, '7d', 3600, 168);
    await byTestId(page, 'usage-table-details').locator('summary').click();
    const hour = new Date(Math.floor(old / 3_600_000) * 3_600_000 + 3_600_000).toISOString();
    assert.match(await rowText(page, hour), /1 Mbit\/s/);
    await showRange(page, '30d', 3600, 720);
    await showRange(page, '24h', 300, 288);
    assert.equal(await page.locator(`[data-testid="usage-row"][data-t="${hour}"]`).count(), 0);
    await page.context().close();

    // staff: the node's graph sums both servers and counts them
    const staff = await newPage(b);
    await logIn(staff, 'admin@e2e.test', b.adminPassword);
    await staff.goto(`/admin/nodes/${seed.nodeId}`);
    await byTestId(staff, 'usage-graphs').waitFor();
    await showRange(staff, '1h', 60, 60);
    await byTestId(staff, 'usage-table-details').locator('summary').click();
    const both = await rowText(staff, new Date(end(25)).toISOString());
    assert.match(both, /2 Mbit\/s/, `two servers at 1 Mbit/s each: ${both}`);
    assert.equal(await staff.locator(`[data-testid="usage-row"][data-t="${new Date(end(25)).toISOString()}"] [data-col="servers"]`).innerText(), '2');
    assert.equal(await staff.locator(`[data-testid="usage-row"][data-t="${new Date(end(5)).toISOString()}"] [data-col="servers"]`).innerText(), '1');
    assert.ok((await byTestId(staff, 'usage-chart-servers').locator('canvas').count()) >= 1);
    await byTestId(staff, 'usage-table-details').locator('summary').click();
    await byTestId(staff, 'usage-graphs').screenshot({ path: join(SHOTS, '51-node-usage-graphs.png') });
    await staff.context().close();
  });
});
