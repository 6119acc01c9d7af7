/**
 * The console path across processes: browser-side WebSocket → API → NATS → node daemon → the
 * guest's UNIX socket, with the real API and daemon (libvirt's test driver; the guest's console
 * socket is a stand-in listening where the daemon looks for it). A second session of the same
 * console takes over from the first, which is told why.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { ConsoleTicketView, ServerView } from '@oblako/contracts';
import { isConsoleOpen, openConsole, uniqueName, waitFor } from '@oblako/testing';
import { newCustomer, startE2E, waitForState, type E2E } from './support.js';

const consoleDir = join('/tmp', uniqueName('obc'));
let e: E2E;
const guests: Server[] = [];

before(async () => {
  mkdirSync(consoleDir, { recursive: true });
  e = await startE2E({ daemonEnv: { OBLAKO_CONSOLE_DIR: consoleDir } });
});
after(async () => {
  for (const g of guests) g.close();
  await e?.close();
  rmSync(consoleDir, { recursive: true, force: true });
});

/** Where the daemon looks for a server's console socket (apps/node-daemon/src/console/paths.ts). */
function socketOf(serverId: string, kind: 'vnc' | 'serial'): string {
  const h = createHash('sha256').update('console:' + serverId).digest('hex').slice(0, 16);
  return join(consoleDir, `${h}.${kind === 'vnc' ? 'vnc' : 'ser'}`);
}

describe('console relay through the API and the node daemon (separate processes)', () => {
  test('serial bytes both ways; a second session takes over and the first is told', async () => {
    const customer = await newCustomer(e.stack, 'console');
    const [location] = await customer.ok<{ id: string }[]>('GET', '/api/v1/locations');
    const [plan] = await customer.ok<{ id: string }[]>('GET', '/api/v1/plans');
    const [image] = await customer.ok<{ id: string }[]>('GET', '/api/v1/images');
    const created = await customer.ok<ServerView>('POST', '/api/v1/servers', { planId: plan!.id, imageId: image!.id, locationId: location!.id, hostname: 'console.example' });
    await waitForState(customer, created.id, 'running');

    const guest = createServer((sock) => {
      sock.write('console.example login: ');
      sock.on('data', (d) => sock.write(`echo:${d.toString()}`));
      sock.on('error', () => undefined);
    });
    guests.push(guest);
    await new Promise<void>((r) => guest.listen(socketOf(created.id, 'serial'), r));

    const ws = (t: ConsoleTicketView) => e.stack.apiUrl.replace(/^http/, 'ws') + t.path;
    const t1 = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${created.id}/console`, { kind: 'serial' });
    const first = await openConsole(ws(t1));
    assert.ok(isConsoleOpen(first), JSON.stringify(first));
    await waitFor('the guest greets through the relay', () => first.text().includes('console.example login: '));
    first.ws.send('root\n');
    await waitFor('echo', () => first.text().includes('echo:root\n'));

    const t2 = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${created.id}/console`, { kind: 'serial' });
    const second = await openConsole(ws(t2));
    assert.ok(isConsoleOpen(second));
    assert.deepEqual(await first.closed, { code: 4001, reason: 'taken_over' }, 'the first session is told another took over');
    await waitFor('the second session has the console', () => second.text().includes('login: '));
    second.ws.send('hostname\n');
    await waitFor('echo on the second', () => second.text().includes('echo:hostname\n'));

    // the VNC console of a server whose socket is not there (not running on the node): closed with a reason
    const vnc = await customer.ok<ConsoleTicketView>('POST', `/api/v1/servers/${created.id}/console`, { kind: 'vnc' });
    const v = await openConsole(ws(vnc));
    assert.ok(isConsoleOpen(v));
    assert.deepEqual(await v.closed, { code: 4005, reason: 'not_running' });

    // stopping the server ends the console
    const stop = await customer.call('POST', `/api/v1/servers/${created.id}/actions`, { action: 'stop' });
    assert.equal(stop.status, 202);
    assert.equal((await second.closed).reason, 'server_stopped');
  });
});
