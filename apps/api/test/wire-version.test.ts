import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { subjects, WIRE_VERSION, type WireRefusal } from '@oblako/contracts';
import { TEST_NATS_URL, waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { startHarness, type Harness } from './support/harness.js';

/** The API's side of a daemon one wire version apart: a refusal fails the task at once, with the reason; a result in another version changes nothing. */
let h: Harness;
let node: FakeNode;
let nc: NatsConnection;
before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, () => null); // takes commands, never answers
  nc = await connect({ servers: TEST_NATS_URL });
});
after(async () => {
  await nc?.close();
  await node?.stop();
  await h?.close();
});

test('a node that refuses a command of another wire version fails the task with its reason, and a result in another version is not applied', async () => {
  const s = subjects(h.config.natsSubjectPrefix);
  const js = jetstream(nc);
  const a = await h.register('wire');
  const created = await h.http('POST', '/api/v1/servers', {
    token: a.token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'wire-1' },
  });
  assert.equal(created.status, 201);
  const cmd = await waitFor('the create to reach the node', () => node.received.find((c) => c.serverId === created.body.id));

  // a result claiming another wire version: rejected, the task stays open
  await js.publish(s.nodeEvent(h.seed.nodeId, 'task.result'), JSON.stringify({
    v: WIRE_VERSION + 1, taskId: cmd.taskId, serverId: cmd.serverId, nodeId: h.seed.nodeId, op: 'create', ok: true, domainState: 'running',
    timings: { receivedAt: Date.now(), finishedAt: Date.now(), steps: {} }, at: Date.now(),
  }));
  await new Promise((r) => setTimeout(r, 500));
  let view = (await h.http('GET', `/api/v1/servers/${created.body.id}`, { token: a.token })).body;
  assert.equal(view.state, 'provisioning', 'a result in another wire version changes nothing');

  const refusal: WireRefusal = {
    nodeId: h.seed.nodeId, taskId: cmd.taskId, serverId: cmd.serverId, op: 'create', nodeWireVersion: WIRE_VERSION - 1, commandWireVersion: WIRE_VERSION,
    message: `node ${h.seed.nodeId}: the API speaks wire version ${WIRE_VERSION}, this node daemon speaks wire version ${WIRE_VERSION - 1}: upgrade the node daemon (it is older); nothing was executed`,
    at: Date.now(),
  };
  await js.publish(s.nodeEvent(h.seed.nodeId, 'wire.refused'), JSON.stringify(refusal));
  view = await waitFor('the server to fail', async () => {
    const r = (await h.http('GET', `/api/v1/servers/${created.body.id}`, { token: a.token })).body;
    return r.state === 'error' ? r : undefined;
  }, { timeoutMs: 8000, intervalMs: 100 });
  assert.match(view.currentTask.error, /^wire_version_mismatch: node .*upgrade the node daemon/);
  assert.equal(view.currentTask.state, 'failed');
});
