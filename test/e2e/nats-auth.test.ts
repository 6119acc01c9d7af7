import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { consoleSubjects, nodeInboxPrefix, subjects, type NodeRegistrationView, type ServerView } from '@oblako/contracts';
import { newCustomer, startE2E, waitForState, type E2E } from './support.js';

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
