import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import pg from 'pg';
import { consoleSubjects, nodeInboxPrefix, subjects, WIRE_VERSION, WireHelloReplySchema, type NodeJoinResultView, type NodeJoinView, type NodeRegistrationView, type ServerView } from '@oblako/contracts';
import { ApiClient } from '@oblako/devstack';
import { waitFor } from '@oblako/testing';
import { newCustomer, startE2E, waitForState, type E2E } from './support.js';

const { Client } = pg;

/** NATS in operator mode, as in production: every node daemon has a user of its own. */
let e: E2E;
let nodeB: NodeRegistrationView;
before(async () => {
  e = await startE2E({ natsUrl: undefined, natsAuth: true });
  const [location] = await e.admin.ok<{ id: string }[]>('GET', '/api/v1/locations');
  nodeB = await e.admin.ok<NodeRegistrationView>('POST', '/api/v1/admin/nodes', {
    name: 'hv-b', locationId: location!.id, vcpus: 8, memoryMiB: 16384, diskGiB: 500, state: 'maintenance',
  });
});
after(async () => {
  await e?.close();
});

async function connectAs(creds: string, nodeId: string): Promise<NatsConnection> {
  return connect({ servers: e.stack.natsUrl, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), inboxPrefix: nodeInboxPrefix(nodeId) });
}

/** Collect the permission violations the server reports on this connection. */
function violations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') seen.push(String((s as { error?: unknown }).error));
  })();
  return seen;
}

describe('per-node NATS users', () => {
  test('registration returns credentials; without them NATS refuses the connection', async () => {
    assert.match(nodeB.daemon.natsCreds ?? '', /BEGIN NATS USER JWT/);
    assert.match(nodeB.daemon.natsUser, /^U[A-Z0-9]{55}$/);
    await assert.rejects(connect({ servers: e.stack.natsUrl, timeout: 2000 }), /Authorization|authorization|auth/i);
  });

  test('a node daemon with its own user runs servers end to end', async () => {
    const c = await newCustomer(e.stack, 'authco');
    const [location] = await c.ok<{ id: string }[]>('GET', '/api/v1/locations');
    const [plan] = await c.ok<{ id: string }[]>('GET', '/api/v1/plans');
    const [image] = await c.ok<{ id: string }[]>('GET', '/api/v1/images');
    const s = await c.ok<ServerView>('POST', '/api/v1/servers', { planId: plan!.id, imageId: image!.id, locationId: location!.id, hostname: 'auth-1' });
    await waitForState(c, s.id, 'running');
  });

  test("node A's user can neither read node B's commands nor speak for node B", async () => {
    const s = subjects(e.stack.subjectPrefix);
    const nodeA = e.stack.seed.nodeId;
    const credsA = readFileSync(join(e.stack.dataDirOf(nodeA), 'nats.creds'), 'utf8');
    const nc = await connectAs(credsA, nodeA);
    const errors = violations(nc);
    try {
      // subscribe to B's command subjects, or everybody's events
      const spy = nc.subscribe(s.nodeCommands(nodeB.node.id));
      const spyAll = nc.subscribe(s.allEvents());
      // publish as B: a forged result and heartbeat
      nc.publish(s.nodeEvent(nodeB.node.id, 'task.result'), '{}');
      nc.publish(s.nodeHeartbeat(nodeB.node.id), '{}');
      // listen to B's console sessions, or answer as B's console
      const conB = consoleSubjects(s, nodeB.node.id);
      const spyConsole = nc.subscribe(conB.allIn);
      nc.publish(conB.out('0'.repeat(32)), 'forged screen');
      // pull B's durable consumer
      const js = jetstream(nc, { timeout: 2000 });
      await assert.rejects(js.consumers.get(s.commandStream, s.nodeConsumer(nodeB.node.id)).then((c) => c.next({ expires: 1000 })));
      await nc.flush();
      await new Promise((r) => setTimeout(r, 300));
      const text = errors.join('\n');
      assert.match(text, new RegExp(`Subscription to "${s.nodeCommands(nodeB.node.id).replace(/[.*>]/g, '\\$&')}"`));
      assert.match(text, new RegExp(`Subscription to "${s.allEvents().replace(/[.*>]/g, '\\$&')}"`));
      assert.match(text, new RegExp(`Publish to "${s.nodeEvent(nodeB.node.id, 'task.result').replace(/[.*>]/g, '\\$&')}"`));
      assert.match(text, new RegExp(`Publish to "${s.nodeHeartbeat(nodeB.node.id).replace(/[.*>]/g, '\\$&')}"`));
      assert.match(text, new RegExp(`Subscription to "${conB.allIn.replace(/[.*>]/g, '\\$&')}"`), "B's console input is not A's to read");
      assert.match(text, new RegExp(`Publish to "${conB.out('0'.repeat(32)).replace(/[.*>]/g, '\\$&')}"`), "A cannot speak as B's console");
      void spyConsole;
      void spy;
      void spyAll;
    } finally {
      await nc.close().catch(() => {});
    }
  });

  test("node B's own user may pull its own consumer (the control for the test above)", async () => {
    const s = subjects(e.stack.subjectPrefix);
    const nc = await connectAs(nodeB.daemon.natsCreds!, nodeB.node.id);
    try {
      const js = jetstream(nc, { timeout: 2000 });
      const consumer = await js.consumers.get(s.commandStream, s.nodeConsumer(nodeB.node.id));
      assert.equal(await consumer.next({ expires: 1000 }), null, 'no commands for B, but the pull is allowed');
    } finally {
      await nc.close();
    }
  });
});

describe('joining a hypervisor with a single-use token; new credentials revoke the old', () => {
  const joinCall = (method: string, path: string, token: string | null, body?: unknown) =>
    new ApiClient(e.stack.apiUrl).call<Record<string, unknown>>(method, `/api/v1/join${path}`, body, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  test('the join command carries the token in the environment of bash, not in an argument', async () => {
    const join = await e.admin.ok<NodeJoinView>('POST', `/api/v1/admin/nodes/${nodeB.node.id}/join`);
    assert.match(join.token, /^ojt_[A-Za-z0-9_-]{43}$/);
    assert.ok(Date.parse(join.expiresAt) - Date.now() > 59 * 60_000 && Date.parse(join.expiresAt) - Date.now() <= 3600_000, join.expiresAt);
    const [fetchPart, runPart] = join.command.split(' | ');
    assert.match(fetchPart!, /^curl -fsS .*\/api\/v1\/join\/node\.sh'$/);
    assert.ok(!fetchPart!.includes(join.token), 'the token is not in curl\'s arguments');
    assert.match(runPart!, new RegExp(`OBLAKO_JOIN_TOKEN='${join.token}' bash$`));
    assert.ok(!join.command.includes('BEGIN NATS'), 'no credentials in the command');
  });

  test('the token buys the node its credentials once; the old user is cut off and refused, the new one works', async () => {
    const s = subjects(e.stack.subjectPrefix);
    const join = await e.admin.ok<NodeJoinView>('POST', `/api/v1/admin/nodes/${nodeB.node.id}/join`);
    const check = await joinCall('GET', '/check', join.token);
    assert.equal(check.status, 200);
    assert.equal(check.body.nodeName, 'hv-b');

    // the node's current user (from the registration) is connected while the join happens
    const old = await connectAs(nodeB.daemon.natsCreds!, nodeB.node.id);
    const oldErrors = violations(old);
    const oldClosed = old.closed();

    const r = await joinCall('POST', '', join.token, { hostname: 'hv-b.example.net' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const result = r.body as unknown as NodeJoinResultView;
    assert.equal(result.nodeId, nodeB.node.id);
    assert.match(result.natsCreds, /BEGIN NATS USER JWT/);
    assert.notEqual(result.natsCreds, nodeB.daemon.natsCreds);

    // revoked: the live connection is closed by the server, and a new one is refused
    await waitFor('the old connection to be cut', () => oldErrors.some((t) => /revoked/i.test(t)), { timeoutMs: 5000 });
    await old.close().catch(() => undefined);
    await oldClosed;
    await assert.rejects(
      connect({ servers: e.stack.natsUrl, authenticator: credsAuthenticator(new TextEncoder().encode(nodeB.daemon.natsCreds!)), inboxPrefix: nodeInboxPrefix(nodeB.node.id), timeout: 3000, reconnect: false }),
      /authorization|auth/i,
    );
    // the new user may do what a node does
    const fresh = await connectAs(result.natsCreds, nodeB.node.id);
    try {
      const consumer = await jetstream(fresh, { timeout: 2000 }).consumers.get(s.commandStream, s.nodeConsumer(nodeB.node.id));
      assert.equal(await consumer.next({ expires: 1000 }), null);
    } finally {
      await fresh.close();
    }

    // single use, with a message that says what to do
    const again = await joinCall('POST', '', join.token, {});
    assert.equal(again.status, 410);
    assert.equal(again.body.code, 'join_token_used');
    assert.match(String(again.body.message), /already used .*Make a new join command/);
    assert.equal((await joinCall('GET', '/check', join.token)).status, 410);
    assert.equal((await joinCall('GET', '/bundle', join.token)).status, 410, 'a spent token downloads nothing');
    // the spent token still tells the join script how the node is doing (no daemon runs for B)
    const status = await joinCall('GET', '/status', join.token);
    assert.equal(status.status, 200);
    assert.equal(status.body.online, false);
    // audited, without the secret
    const audit = await e.admin.ok<{ action: string; targetId: string | null; details: Record<string, unknown> }[]>('GET', '/api/v1/admin/audit?limit=50');
    const entry = audit.find((a) => a.action === 'node.join' && a.targetId === nodeB.node.id);
    assert.ok(entry, JSON.stringify(audit.map((a) => a.action)));
    assert.equal(entry.details.hostname, 'hv-b.example.net');
    assert.ok(!JSON.stringify(entry).includes('SUAC') && !JSON.stringify(entry).includes('BEGIN NATS'), 'no seed in the audit log');
    nodeB = { ...nodeB, daemon: { ...nodeB.daemon, natsCreds: result.natsCreds } };
  });

  test('an expired, an unknown, a replaced and a missing token are refused with a clear message', async () => {
    const expiredJoin = await e.admin.ok<NodeJoinView>('POST', `/api/v1/admin/nodes/${nodeB.node.id}/join`);
    const pg = new Client({ connectionString: e.stack.databaseUrl });
    await pg.connect();
    try {
      await pg.query(`UPDATE node_join_tokens SET expires_at = now() - interval '1 second' WHERE node_id = $1 AND used_at IS NULL`, [nodeB.node.id]);
    } finally {
      await pg.end();
    }
    const expired = await joinCall('POST', '', expiredJoin.token, {});
    assert.equal(expired.status, 410);
    assert.equal(expired.body.code, 'join_token_expired');
    assert.match(String(expired.body.message), /expired at .*Make a new join command/);

    const unknown = await joinCall('POST', '', `ojt_${'A'.repeat(43)}`, {});
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.code, 'join_token_unknown');

    const first = await e.admin.ok<NodeJoinView>('POST', `/api/v1/admin/nodes/${nodeB.node.id}/join`);
    await e.admin.ok<NodeJoinView>('POST', `/api/v1/admin/nodes/${nodeB.node.id}/join`);
    const replaced = await joinCall('POST', '', first.token, {});
    assert.equal(replaced.status, 401, 'a newer join command replaces the unused older one');

    const missing = await joinCall('POST', '', null, {});
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'join_token_missing');
    const notAToken = await joinCall('POST', '', 'eyJhbGciOi.not-a-join-token', {});
    assert.equal(notAToken.status, 401);
    // an access token is not a join token, and a join token opens no other route
    const staff = await joinCall('POST', '', e.admin.token!, {});
    assert.equal(staff.status, 401);
  });

  test('the API answers a daemon of another wire version, saying which part to upgrade', async () => {
    const s = subjects(e.stack.subjectPrefix);
    const nc = await connectAs(nodeB.daemon.natsCreds!, nodeB.node.id);
    try {
      const ask = async (wireVersion: number) =>
        WireHelloReplySchema.parse((await nc.request(s.nodeHello(nodeB.node.id), JSON.stringify({ nodeId: nodeB.node.id, wireVersion, daemonVersion: 'test' }), { timeout: 3000 })).json());
      const same = await ask(WIRE_VERSION);
      assert.equal(same.ok, true);
      const newer = await ask(WIRE_VERSION + 1);
      assert.equal(newer.ok, false);
      assert.equal(newer.apiWireVersion, WIRE_VERSION);
      assert.match(newer.message, new RegExp(`this node daemon speaks wire version ${WIRE_VERSION + 1}.*upgrade the API`));
      const older = await ask(WIRE_VERSION - 1);
      assert.equal(older.ok, false);
      assert.match(older.message, /upgrade the node daemon/);
    } finally {
      await nc.close();
    }
  });
});
