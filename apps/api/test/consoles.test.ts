/**
 * Console tickets and the WebSocket relay, against the real API, PostgreSQL and NATS, with a
 * node that speaks the console contract (libs/contracts/src/console.ts): who may get a ticket,
 * that a ticket works once, in time and only for its server and kind (refused before the node
 * hears anything), bytes both ways, audit of every open, and sessions that end when the server
 * stops or the user loses access.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { consoleSubjects, subjects, type ConsoleOpen } from '@oblako/contracts';
import { isConsoleOpen, openConsole, TEST_NATS_URL, waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

/** A node's console side: greets, echoes in upper case, remembers what it was asked. */
class ConsoleNode {
  readonly opens: ConsoleOpen[] = [];
  readonly closes: { sessionId: string; reason: string }[] = [];
  private constructor(private readonly nc: NatsConnection) {}
  static async start(prefix: string, nodeId: string): Promise<ConsoleNode> {
    const nc = await connect({ servers: TEST_NATS_URL });
    const node = new ConsoleNode(nc);
    const c = consoleSubjects(subjects(prefix), nodeId);
    const open = nc.subscribe(c.open);
    const input = nc.subscribe(c.allIn);
    const ctl = nc.subscribe(c.allApiControl);
    void (async () => {
      for await (const m of open) {
        const req = m.json<ConsoleOpen>();
        node.opens.push(req);
        nc.publish(c.nodeControl(req.sessionId), JSON.stringify({ type: 'opened', window: 512 * 1024 }));
        nc.publish(c.out(req.sessionId), `hello from ${req.kind}\r\n`);
      }
    })();
    void (async () => {
      for await (const m of input) nc.publish(c.out(c.parse(m.subject)!.sessionId), Buffer.from(m.data).toString().toUpperCase());
    })();
    void (async () => {
      for await (const m of ctl) {
        const msg = m.json<{ type: string; reason?: string }>();
        if (msg.type === 'close') node.closes.push({ sessionId: c.parse(m.subject)!.sessionId, reason: msg.reason! });
      }
    })();
    await nc.flush();
    return node;
  }
  stop(): Promise<void> {
    return this.nc.close();
  }
}

function openWs(h: Harness, path: string) {
  return openConsole(h.url.replace(/^http/, 'ws') + path);
}
const isOpen = isConsoleOpen;

let h: Harness;
let node: FakeNode;
let consoleNode: ConsoleNode;

before(async () => {
  h = await startHarness({ env: { CONSOLE_TICKET_SECONDS: '2', CONSOLE_ACCESS_CHECK_SECONDS: '1', CONSOLE_IDLE_SECONDS: '4' } });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  consoleNode = await ConsoleNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
});
after(async () => {
  await consoleNode?.stop();
  await node?.stop();
  await h?.close();
});

async function runningServer(token: string, hostname = 'console-1'): Promise<string> {
  const r = await h.http('POST', '/api/v1/servers', { token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitFor('running', async () => (await h.http('GET', `/api/v1/servers/${r.body.id}`, { token })).body.state === 'running', { timeoutMs: 5000 });
  return r.body.id;
}

async function ticket(token: string, serverId: string, kind = 'serial', headers: Record<string, string> = {}) {
  return h.http('POST', `/api/v1/servers/${serverId}/console`, { token, body: { kind }, headers });
}

describe('console tickets and relay', () => {
  test('the owner relays bytes both ways through the node; open and close are audited with the duration', async () => {
    const a = await h.register('con-owner');
    const id = await runningServer(a.token);
    const t = await ticket(a.token, id);
    assert.equal(t.status, 201, JSON.stringify(t.body));
    assert.match(t.body.ticket, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(t.body.path, `/api/v1/servers/${id}/console/serial?ticket=${t.body.ticket}`);
    assert.ok(Date.parse(t.body.expiresAt) - Date.now() <= 2500);
    const [row] = await h.ds.query('SELECT encode(token_hash, $2) AS h FROM console_tickets WHERE server_id = $1', [id, 'hex']);
    assert.notEqual(row.h, Buffer.from(t.body.ticket).toString('hex'), 'only a hash of the ticket is stored');

    const c = await openWs(h, t.body.path);
    assert.ok(isOpen(c), JSON.stringify(c));
    await waitFor('greeting', () => c.text().includes('hello from serial'));
    c.ws.send('hostname\n');
    await waitFor('echo', () => c.text().includes('HOSTNAME'));
    const open = consoleNode.opens.find((o) => o.serverId === id);
    assert.ok(open && open.kind === 'serial');
    c.ws.close();
    await waitFor('node told', () => consoleNode.closes.find((x) => x.sessionId === open.sessionId));
    const audit = await waitFor('audited', async () => {
      const rows = await h.ds.query(`SELECT action, actor_user_id, ip, details FROM audit_log WHERE target_id = $1 AND action LIKE 'console.%' ORDER BY id`, [id]);
      return rows.length === 2 ? rows : undefined;
    });
    assert.deepEqual(audit.map((r: { action: string }) => r.action), ['console.open', 'console.close']);
    assert.equal(audit[0].actor_user_id, a.userId);
    assert.equal(audit[0].details.kind, 'serial');
    assert.match(audit[1].ip, /127\.0\.0\.1/);
    assert.equal(audit[1].details.reason, 'client_closed');
    assert.equal(typeof audit[1].details.seconds, 'number');
    assert.equal(audit[1].details.bytesIn, 'hostname\n'.length);
    // the tenant sees it in its own audit log
    const log = await h.http('GET', '/api/v1/audit', { token: a.token });
    assert.ok(JSON.stringify(log.body).includes('console.open'), JSON.stringify(log.body).slice(0, 300));
  });

  test('reused, expired and foreign tickets are refused before the node hears of them', async () => {
    const a = await h.register('con-refused');
    const id = await runningServer(a.token);
    const other = await runningServer(a.token, 'console-2');
    const opensBefore = consoleNode.opens.length;

    const t = await ticket(a.token, id);
    const first = await openWs(h, t.body.path);
    assert.ok(isOpen(first));
    const reused = await openWs(h, t.body.path);
    assert.ok(!isOpen(reused) && reused.status === 401 && reused.body.code === 'console_ticket_refused', JSON.stringify(reused));
    first.ws.close();

    const vnc = await ticket(a.token, id, 'vnc');
    const wrongKind = await openWs(h, `/api/v1/servers/${id}/console/serial?ticket=${vnc.body.ticket}`);
    assert.ok(!isOpen(wrongKind) && wrongKind.status === 401, 'a VNC ticket does not open the serial console');
    const wrongServer = await openWs(h, `/api/v1/servers/${other}/console/vnc?ticket=${vnc.body.ticket}`);
    assert.ok(!isOpen(wrongServer) && wrongServer.status === 401, "a ticket for one server does not open another's console");
    const made = await openWs(h, `/api/v1/servers/${id}/console/vnc?ticket=${'A'.repeat(43)}`);
    assert.ok(!isOpen(made) && made.status === 401, 'a made-up ticket is refused');
    const none = await openWs(h, `/api/v1/servers/${id}/console/vnc`);
    assert.ok(!isOpen(none) && none.status === 401);
    // the foreign attempts did not spend the VNC ticket: it still opens its own console
    const own = await openWs(h, vnc.body.path);
    assert.ok(isOpen(own), JSON.stringify(own));
    own.ws.close();

    const late = await ticket(a.token, id, 'vnc');
    await new Promise((r) => setTimeout(r, 2300));
    const expired = await openWs(h, late.body.path);
    assert.ok(!isOpen(expired) && expired.status === 401, 'an expired ticket is refused');

    assert.equal(consoleNode.opens.length - opensBefore, 2, 'only the two good tickets reached the node');
  });

  test("another tenant gets 404; the billing role 403; a stopped server 409; a bad kind 400", async () => {
    const a = await h.register('con-a');
    const b = await h.register('con-b');
    const id = await runningServer(a.token);
    const foreign = await ticket(b.token, id);
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    assert.equal((await ticket(a.token, id, 'rdp')).status, 400);

    const billing = await h.register('con-billing');
    await h.ds.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'billing')`, [a.tenantId, billing.userId]);
    const denied = await ticket(billing.token, id, 'serial', { 'x-tenant-id': a.tenantId });
    assert.equal(denied.status, 403, JSON.stringify(denied.body));

    const stop = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } });
    assert.equal(stop.status, 202);
    await waitFor('stopped', async () => (await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).body.state === 'stopped');
    const stopped = await ticket(a.token, id);
    assert.equal(stopped.status, 409);
    assert.match(stopped.body.message, /running/);
  });

  test('staff open any console; the open is in the tenant’s audit log as staff', async () => {
    const a = await h.register('con-staff');
    const id = await runningServer(a.token);
    const admin = await h.login(ADMIN.email, ADMIN.password);
    const t = await h.http('POST', `/api/v1/admin/servers/${id}/console`, { token: admin, body: { kind: 'vnc' } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const c = await openWs(h, t.body.path);
    assert.ok(isOpen(c));
    await waitFor('greeting', () => c.text().includes('hello from vnc'));
    const row = await waitFor('audited', async () => (await h.ds.query(`SELECT actor_kind, tenant_id, details FROM audit_log WHERE target_id = $1 AND action = 'console.open'`, [id]))[0]);
    assert.equal(row.actor_kind, 'staff');
    assert.equal(row.tenant_id, a.tenantId);
    assert.equal(row.details.asStaff, true);
    c.ws.close();
    // a customer cannot use the staff route
    assert.equal((await h.http('POST', `/api/v1/admin/servers/${id}/console`, { token: a.token, body: { kind: 'vnc' } })).status, 403);
  });

  test('a session ends when the server stops, when access is lost, and when idle', async () => {
    const a = await h.register('con-end');
    const id = await runningServer(a.token);

    const s1 = await openWs(h, (await ticket(a.token, id)).body.path);
    assert.ok(isOpen(s1));
    await waitFor('greeting', () => s1.text().includes('hello'));
    // access lost: a member removed while the console is open
    const member = await h.register('con-member');
    await h.ds.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')`, [a.tenantId, member.userId]);
    const m1 = await openWs(h, (await ticket(member.token, id, 'vnc', { 'x-tenant-id': a.tenantId })).body.path);
    assert.ok(isOpen(m1));
    await h.ds.query(`DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2`, [a.tenantId, member.userId]);
    const lost = await m1.closed;
    assert.deepEqual(lost, { code: 4004, reason: 'access_lost' });

    // idle: nothing either way for CONSOLE_IDLE_SECONDS (4 s here)
    const t0 = Date.now();
    const idle = await s1.closed;
    assert.deepEqual(idle, { code: 4003, reason: 'idle' });
    assert.ok(Date.now() - t0 < 6000);

    const s2 = await openWs(h, (await ticket(a.token, id)).body.path);
    assert.ok(isOpen(s2));
    await waitFor('greeting', () => s2.text().includes('hello'));
    assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } })).status, 202);
    assert.deepEqual(await s2.closed, { code: 4002, reason: 'server_stopped' });
  });
});
