/**
 * Issue 10's proof on a real guest: the panel in Chromium, on its own origin only, opens the serial
 * console of a real QEMU test guest (boot output first, then a shell where `hostname` prints the
 * name given at order time) and its VNC console (a non-blank framebuffer; Ctrl-Alt-Del and pasted
 * keystrokes reach the guest). Tickets that are reused, expired or another tenant's fail, and so
 * does the console of a stopped server. Measures keystroke → echo through the whole relay against
 * writing straight to the guest's console socket on the node (same run, alternating), and VNC
 * updates and bytes per second while the guest prints continuously.
 * Then ISO boot: staff add a tiny ISO built from the test guest (tools/guest-image/build-iso.sh), the
 * server boots it (its VNC console lit, ISOLINUX's banner in the serial log), and after detach_iso
 * boots from its disk again.
 * Opt-in like the other real-guest tests (OBLAKO_REAL_GUEST=1; scripts/test.sh sets it).
 * OBLAKO_CONSOLE_BENCH_SAMPLES (default 40) keystrokes per round, 3 rounds each way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { connect as connectUnix, type Socket } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ConsoleTicketView, ServerView } from '@oblako/contracts';
import { ApiClient, type Stack } from '@oblako/devstack';
import { freePort, isConsoleOpen, openConsole, uniqueName, waitFor, type ConsoleClient } from '@oblako/testing';
import { byTestId, CHROMIUM, SHOTS } from '../browser/support.js';
import { waitForState } from '../e2e/support.js';
import { guestGet, percentile, realGuestSkipReason, REPO, run, startGuestStack, virsh, waitForGuestHttp, type GuestStack, type Hypervisor } from './support.js';

const BUILD_ISO = join(REPO, 'tools/guest-image/build-iso.sh');

const skip = realGuestSkipReason();
const PASSWORD = 'correct horse battery staple';
const SAMPLES = Number(process.env.OBLAKO_CONSOLE_BENCH_SAMPLES ?? 40);
const CONSOLE_DIR = join('/tmp', uniqueName('obc'));

/** The guest's console socket on the node (apps/node-daemon/src/console/paths.ts). */
function socketOf(serverId: string, kind: 'vnc' | 'serial'): string {
  const h = createHash('sha256').update('console:' + serverId).digest('hex').slice(0, 16);
  return join(CONSOLE_DIR, `${h}.${kind === 'vnc' ? 'vnc' : 'ser'}`);
}

describe('consoles of a real guest in the browser', { skip: skip ?? false }, () => {
  let rg: GuestStack;
  let hv: Hypervisor;
  let stack: Stack;
  let browser: Browser;
  let customer: ApiClient;
  let admin: ApiClient;
  let email: string;
  let server: ServerView;
  let address: string;

  before(async () => {
    mkdirSync(CONSOLE_DIR, { recursive: true });
    rg = await startGuestStack({
      name: 'console',
      adminEmail: 'admin@rgc.test',
      panelPort: await freePort(),
      apiEnv: { CONSOLE_TICKET_SECONDS: '3' },
      daemonEnv: { OBLAKO_CONSOLE_DIR: CONSOLE_DIR },
      plan: { name: 'Console test', vcpus: 1, memoryMiB: 256, diskGiB: 2, cpuQuotaPercent: 100, diskIops: 0, diskMBps: 0, netMbit: 0, priceMonthlyCents: 100 },
      customers: [{ name: 'rgc', company: 'Console Test Ltd' }],
    });
    ({ hv, stack, admin } = rg);
    const { plan, imageId, locationId } = rg;
    ({ client: customer, email } = rg.customers[0]!);
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan.id, imageId, locationId, hostname: 'alpha.console.test' });
    server = await waitForState(customer, created.id, 'running', 180_000);
    address = server.addresses[0]!.address;
    assert.equal(await waitForGuestHttp(hv.netns, address, 180_000), 'alpha');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await rg?.close();
  });

  async function loggedIn(): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: stack.panelUrl! });
    const page = await ctx.newPage();
    page.setDefaultTimeout(30_000);
    // the browser may talk to the panel's origin only
    const origin = new URL(stack.panelUrl!).origin;
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url());
    });
    page.on('websocket', (ws) => {
      if (!ws.url().startsWith(origin.replace(/^http/, 'ws'))) foreign.push(ws.url());
    });
    (page as Page & { foreign?: string[] }).foreign = foreign;
    await page.goto('/login');
    await byTestId(page, 'login-email').fill(email);
    await byTestId(page, 'login-password').fill(PASSWORD);
    await byTestId(page, 'login-submit').click();
    await page.waitForURL(/\/servers/);
    return page;
  }

  const terminalText = (page: Page) => page.locator('.xterm-rows').innerText();

  test('serial console: boot output, then a shell where hostname prints the ordered name', async () => {
    const page = await loggedIn();
    await page.goto(`/servers/${server.id}`);
    await byTestId(page, 'open-console-serial').click();
    await page.waitForURL(new RegExp(`/servers/${server.id}/console/serial$`));
    await page.locator('[data-testid="console-status"][data-state="connected"]').waitFor();
    await waitFor('the boot output from the serial log', async () => /oblako-guest: (ready|httpd on port 80)/.test(await terminalText(page)), { timeoutMs: 15_000 });
    await page.locator('.xterm').click();
    await page.keyboard.type('hostname\n');
    await waitFor('hostname printed', async () => /hostname\s*\n\s*alpha\s*\n/.test(await terminalText(page)), { timeoutMs: 15_000 });
    await page.screenshot({ path: join(SHOTS, '30-console-serial.png') });
    assert.deepEqual((page as Page & { foreign?: string[] }).foreign, [], 'nothing but the panel origin was contacted');
    await page.context().close();
  });

  test('VNC console: a non-blank framebuffer; Ctrl-Alt-Del and pasted keystrokes reach the guest', async () => {
    const page = await loggedIn();
    await page.goto(`/servers/${server.id}/console/vnc`);
    await page.locator('[data-testid="console-status"][data-state="connected"]').waitFor();
    const lit = await waitFor(
      'a framebuffer with something on it',
      async () => {
        const n = await litPixels(page);
        return n > 500 ? n : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    assert.ok(lit > 500, `${lit} lit pixels`);
    const before = Number((await guestGet(hv.netns, address, '/ctrl-alt-del'))?.trim());
    assert.equal(before, 0);
    await byTestId(page, 'console-ctrl-alt-del').click();
    await waitFor('the guest saw Ctrl-Alt-Del', async () => Number((await guestGet(hv.netns, address, '/ctrl-alt-del'))?.trim()) === 1, { timeoutMs: 15_000, intervalMs: 200 });
    // paste as keystrokes into the shell on the first virtual terminal
    await byTestId(page, 'console-paste-text').fill('echo pasted-via-vnc > /www/pasted\n');
    await byTestId(page, 'console-paste-send').click();
    await waitFor('the pasted command ran in the guest', async () => (await guestGet(hv.netns, address, '/pasted'))?.trim() === 'pasted-via-vnc', { timeoutMs: 15_000, intervalMs: 200 });
    await page.screenshot({ path: join(SHOTS, '31-console-vnc.png') });
    assert.deepEqual((page as Page & { foreign?: string[] }).foreign, []);
    await page.context().close();
  });

  test('keystroke → echo through the relay vs straight to the node socket; VNC updates while the guest prints', async () => {
    const ws = (t: ConsoleTicketView) => stack.apiUrl.replace(/^http/, 'ws') + t.path;
    const relay: number[] = [];
    const direct: number[] = [];
    const typeAndTime = async (send: (b: Buffer) => void, onData: (fn: (c: Buffer) => void) => void, out: number[]) => {
      let pending: { ch: string; t0: number; done: () => void } | null = null;
      onData((c) => {
        if (pending && c.toString('latin1').includes(pending.ch)) {
          out.push(performance.now() - pending.t0);
          pending.done();
        }
      });
      // clear the line first, then one letter at a time (the shell echoes each), then erase them
      for (let i = 0; i < SAMPLES; i++) {
        const ch = 'abcdefghijklmnopqrstuvwxyz'[i % 26]!;
        await new Promise<void>((done) => {
          pending = { ch, t0: performance.now(), done };
          send(Buffer.from(ch));
        });
        pending = null;
        await new Promise((r) => setTimeout(r, 20));
      }
      send(Buffer.from('\x15')); // Ctrl-U: kill the line
    };
    for (let round = 0; round < 3; round++) {
      const t = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${server.id}/console`, { kind: 'serial' });
      const c = (await openConsole(ws(t))) as ConsoleClient;
      assert.ok(isConsoleOpen(c));
      await new Promise((r) => setTimeout(r, 500)); // replay of the log passes by
      await typeAndTime((b) => c.ws.send(b), (fn) => c.onData(fn), relay);
      c.ws.close();
      await c.closed;
      await new Promise((r) => setTimeout(r, 300)); // the node lets go of the socket; QEMU accepts the next client
      const sock: Socket = connectUnix(socketOf(server.id, 'serial'));
      await new Promise<void>((ok, fail) => sock.once('connect', ok).once('error', fail));
      await typeAndTime((b) => sock.write(b), (fn) => sock.on('data', fn), direct);
      sock.destroy();
      await new Promise((r) => setTimeout(r, 300));
    }
    const p = (v: number[], q: number) => Math.round(percentile(v, q) * 10) / 10;
    console.log(`[console] keystroke→echo over ${relay.length} keys: relay p50 ${p(relay, 50)} ms p99 ${p(relay, 99)} ms; straight to the node's socket p50 ${p(direct, 50)} ms p99 ${p(direct, 99)} ms`);
    assert.equal(relay.length, 3 * SAMPLES);
    assert.equal(direct.length, 3 * SAMPLES);

    // VNC: the guest prints continuously on its first virtual terminal; an RFB client counts updates
    const serialT = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${server.id}/console`, { kind: 'serial' });
    const serial = (await openConsole(ws(serialT))) as ConsoleClient;
    serial.ws.send('while :; do echo "$RANDOM $RANDOM $RANDOM $RANDOM"; done > /dev/tty1 &\n');
    await new Promise((r) => setTimeout(r, 1000));
    const vncT = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${server.id}/console`, { kind: 'vnc' });
    const vnc = (await openConsole(ws(vncT))) as ConsoleClient;
    const stats = await rfbUpdates(vnc, 10_000);
    serial.ws.send('kill $!\n');
    await new Promise((r) => setTimeout(r, 300));
    vnc.ws.close();
    serial.ws.close();
    console.log(`[console] VNC while the guest prints: ${(stats.updates / stats.seconds).toFixed(1)} updates/s, ${Math.round(stats.bytes / stats.seconds / 1024)} KiB/s (${stats.width}x${stats.height}, ZRLE, incremental requests after each update) over ${stats.seconds.toFixed(1)} s`);
    assert.ok(stats.updates > 5, `the screen changed (${stats.updates} updates)`);
  });

  test('ISO boot: staff add an ISO, the server boots it (seen on the VNC and serial consoles), then boots from its disk again', async () => {
    const iso = await run(BUILD_ISO, [], { timeoutMs: 120_000 });
    const [isoPath, isoSha] = iso.stdout.trim().split('\n').at(-1)!.split(' ') as [string, string];
    const added = await admin.ok<{ id: string }>('POST', '/api/v1/admin/isos', { name: 'Oblako test ISO', url: `file://${isoPath}`, sha256: isoSha });
    const bad = await admin.call('POST', '/api/v1/admin/isos', { name: 'Bad', url: 'gopher://x', sha256: 'nope' });
    assert.equal(bad.status, 400);
    const listed = await customer.ok<{ id: string; name: string }[]>('GET', '/api/v1/isos');
    assert.ok(listed.some((i) => i.id === added.id));

    // the customer boots it from the server's page
    const detail = await loggedIn();
    await detail.goto(`/servers/${server.id}`);
    await byTestId(detail, 'iso-select').selectOption({ label: 'Oblako test ISO' });
    await byTestId(detail, 'iso-boot').click();
    await byTestId(detail, 'confirm-submit').click();
    await detail.locator('[data-testid="server-iso"]').waitFor({ timeout: 60_000 });
    const booted = await waitForState(customer, server.id, 'running', 240_000);
    await detail.locator('[data-testid="server-state"][data-state="running"]').waitFor({ timeout: 60_000 });
    await detail.screenshot({ path: join(SHOTS, '33-server-iso-attached.png') });
    await detail.context().close();
    assert.equal(booted.iso?.name, 'Oblako test ISO');
    await waitFor('the guest booted from the ISO', async () => (await guestGet(hv.netns, address, '/cmdline'))?.includes('oblako.boot=iso'), { timeoutMs: 240_000, intervalMs: 500 });
    assert.match((await virsh(hv.uri, ['dumpxml', `oblako-${server.id}`])), /<disk type=.file. device=.cdrom.>[\s\S]*?\.raw/);

    // the consoles see it: the boot loader on the serial log, a lit screen on VNC
    const page = await loggedIn();
    await page.goto(`/servers/${server.id}/console/serial`);
    await page.locator('[data-testid="console-status"][data-state="connected"]').waitFor();
    await page.goto(`/servers/${server.id}/console/vnc`);
    await page.locator('[data-testid="console-status"][data-state="connected"]').waitFor();
    await waitFor('a lit framebuffer', async () => (await litPixels(page)) > 500, { timeoutMs: 20_000, intervalMs: 250 });
    await page.screenshot({ path: join(SHOTS, '32-console-vnc-iso.png') });
    await page.context().close();
    const serialLog = (await run('find', [stack.dataDirOf(stack.seed.nodeId), '-name', `${server.id}.serial.log`])).stdout.trim();
    assert.ok(serialLog, 'the serial log exists');
    const logText = (await run('cat', [serialLog])).stdout;
    assert.match(logText, /ISOLINUX \d[\s\S]*Loading \/vmlinuz[\s\S]*Command line: .*oblako\.boot=iso/, 'ISOLINUX ran from the CD-ROM and loaded the kernel (its banner and the command line are in the serial log)');

    const detach = await customer.call<ServerView>('POST', `/api/v1/servers/${server.id}/actions`, { action: 'detach_iso' });
    assert.equal(detach.status, 202, JSON.stringify(detach.body));
    const back = await waitForState(customer, server.id, 'running', 240_000);
    assert.equal(back.iso, null);
    await waitFor('the guest booted from its disk again', async () => {
      const c = await guestGet(hv.netns, address, '/cmdline');
      return c !== null && !c.includes('oblako.boot=iso');
    }, { timeoutMs: 240_000, intervalMs: 500 });
    assert.doesNotMatch(await virsh(hv.uri, ['dumpxml', `oblako-${server.id}`]), /device=.cdrom./);
    const again = await customer.call('POST', `/api/v1/servers/${server.id}/actions`, { action: 'detach_iso' });
    assert.equal(again.status, 409, 'nothing to detach');
  });

  test('reused, expired and foreign tickets fail; so does the console of a stopped server', async () => {
    const ws = (t: ConsoleTicketView) => stack.apiUrl.replace(/^http/, 'ws') + t.path;
    const t = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${server.id}/console`, { kind: 'serial' });
    const first = await openConsole(ws(t));
    assert.ok(isConsoleOpen(first));
    const again = await openConsole(ws(t));
    assert.ok(!isConsoleOpen(again) && again.status === 401, 'reused');
    first.ws.close();
    const late = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${server.id}/console`, { kind: 'vnc' });
    await new Promise((r) => setTimeout(r, 3500));
    const expired = await openConsole(ws(late));
    assert.ok(!isConsoleOpen(expired) && expired.status === 401, 'expired');

    const other = new ApiClient(stack.apiUrl);
    const otherEmail = `${uniqueName('rgc-b')}@rgc.test`;
    await other.register(otherEmail, PASSWORD, 'Other Ltd');
    const foreign = await other.call('POST', `/api/v1/servers/${server.id}/console`, { kind: 'serial' });
    assert.equal(foreign.status, 404, "another tenant's server");

    // an open console in the browser closes, with the reason, when the server stops
    const page = await loggedIn();
    await page.goto(`/servers/${server.id}/console/serial`);
    await page.locator('[data-testid="console-status"][data-state="connected"]').waitFor();
    assert.equal((await customer.call('POST', `/api/v1/servers/${server.id}/actions`, { action: 'stop' })).status, 202);
    await page.locator('[data-testid="console-status"][data-state="closed"]').waitFor({ timeout: 60_000 });
    assert.match(await byTestId(page, 'console-status').innerText(), /no longer running/);
    await waitForState(customer, server.id, 'stopped', 120_000);
    const stopped = await customer.call('POST', `/api/v1/servers/${server.id}/console`, { kind: 'serial' });
    assert.equal(stopped.status, 409);
    await page.context().close();
  });
});

/** Pixels of noVNC's canvas that are not (near) black, counted in the page (this file is compiled without the DOM types). */
function litPixels(page: Page): Promise<number> {
  return page.evaluate<number>(`(() => {
    const c = document.querySelector('[data-testid="console-screen"] canvas');
    if (!c || c.width < 100) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 96) lit++;
    return lit;
  })()`);
}

/** A minimal RFB 3.8 client over the relay: counts framebuffer updates and their bytes for `ms`. */
async function rfbUpdates(c: ConsoleClient, ms: number): Promise<{ updates: number; bytes: number; seconds: number; width: number; height: number }> {
  let buf = c.bytes();
  let waiter: (() => void) | null = null;
  c.onData((d) => {
    buf = Buffer.concat([buf, d]);
    waiter?.();
  });
  const need = async (n: number): Promise<Buffer> => {
    while (buf.length < n) await new Promise<void>((r) => (waiter = r));
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  await need(12); // "RFB 003.008\n"
  c.ws.send(Buffer.from('RFB 003.008\n'));
  const nTypes = (await need(1))[0]!;
  const types = [...(await need(nTypes))];
  assert.ok(types.includes(1), `the node's VNC offers "None" security (it is reachable only through the relay): ${types}`);
  c.ws.send(Buffer.from([1]));
  assert.equal((await need(4)).readUInt32BE(0), 0, 'security handshake ok');
  c.ws.send(Buffer.from([1])); // ClientInit: shared
  const init = await need(24);
  const width = init.readUInt16BE(0);
  const height = init.readUInt16BE(2);
  await need(init.readUInt32BE(20)); // name
  // SetEncodings: ZRLE (16), Raw (0)
  const enc = Buffer.alloc(4 + 8);
  enc.writeUInt8(2, 0);
  enc.writeUInt16BE(2, 2);
  enc.writeInt32BE(16, 4);
  enc.writeInt32BE(0, 8);
  c.ws.send(enc);
  const request = (incremental: number) => {
    const r = Buffer.alloc(10);
    r.writeUInt8(3, 0);
    r.writeUInt8(incremental, 1);
    r.writeUInt16BE(width, 6);
    r.writeUInt16BE(height, 8);
    c.ws.send(r);
  };
  request(0);
  const start = performance.now();
  let updates = 0;
  let bytes = 0;
  const deadline = start + ms;
  while (performance.now() < deadline) {
    const head = await Promise.race([need(1), new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - performance.now())))]);
    if (!head) break;
    const type = head[0]!;
    if (type === 0) {
      const h = await need(3);
      const rects = h.readUInt16BE(1);
      let size = 4;
      for (let i = 0; i < rects; i++) {
        const r = await need(12);
        const w = r.readUInt16BE(4);
        const hh = r.readUInt16BE(6);
        const e = r.readInt32BE(8);
        size += 12;
        if (e === 16) {
          const len = (await need(4)).readUInt32BE(0);
          await need(len);
          size += 4 + len;
        } else if (e === 0) {
          await need(w * hh * 4);
          size += w * hh * 4;
        } else throw new Error(`unexpected encoding ${e}`);
      }
      updates++;
      bytes += size;
      request(1);
    } else if (type === 2) {
      // bell
    } else if (type === 3) {
      const h = await need(7);
      await need(h.readUInt32BE(3));
    } else throw new Error(`unexpected RFB message ${type}`);
  }
  return { updates, bytes, seconds: (performance.now() - start) / 1000, width, height };
}
