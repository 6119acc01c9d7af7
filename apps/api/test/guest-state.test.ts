import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WIRE_VERSION } from '@oblako/contracts';
import { FakeNode } from './support/fake-node.js';
import { startHarness, type Harness } from './support/harness.js';

/**
 * A guest's own state changes (domain.state) move the server when no task runs, but a report the node
 * observed before it finished the server's last task is older than that task's result and must not undo it.
 * Such a report arrives late when an API replica died holding it (redelivered after the ack wait), or when the
 * node's heartbeat listed the domain just before a command changed it (the fault-injection e2e test found a
 * stopped server shown `running` that way).
 */
let h: Harness;
let node: FakeNode;

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
});
after(async () => {
  await node?.stop();
  await h?.close();
});

async function state(token: string, id: string): Promise<string> {
  return (await h.http('GET', `/api/v1/servers/${id}`, { token })).body.state;
}


async function lastFinish(id: string): Promise<number> {
  const [row] = await h.ds.query(`SELECT (timings->>'daemonFinishedAt')::float8 AS at FROM tasks WHERE server_id = $1 ORDER BY finished_at DESC LIMIT 1`, [id]);
  return Number(row.at);
}

function guest(serverId: string, st: 'running' | 'shutoff', at: number) {
  return node.publish(h.seed.nodeId, 'domain.state', { v: WIRE_VERSION, serverId, nodeId: h.seed.nodeId, state: st, at });
}

describe('domain.state events against task results', () => {
  test('a guest shutting itself down shows stopped; a report older than the last task is ignored', async () => {
    const a = await h.register('guest');
    const body = { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId };
    const one = (await h.http('POST', '/api/v1/servers', { token: a.token, body: { ...body, hostname: 'g-1' } })).body.id as string;
    const two = (await h.http('POST', '/api/v1/servers', { token: a.token, body: { ...body, hostname: 'g-2' } })).body.id as string;
    await h.waitIdle(a.token, one, 'running');
    await h.waitIdle(a.token, two, 'running');

    // stop one; then a report of it running, observed before the stop finished, arrives
    assert.equal((await h.http('POST', `/api/v1/servers/${one}/actions`, { token: a.token, body: { action: 'stop' } })).status, 202);
    await h.waitIdle(a.token, one, 'stopped');
    await guest(one, 'running', (await lastFinish(one)) - 50);
    // the guest of the other server powers itself off now: a fresh report, followed
    await guest(two, 'shutoff', Date.now() + 1);
    await h.waitIdle(a.token, two, 'stopped');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await state(a.token, one), 'stopped', 'the stale report did not bring the stopped server back to running');

    // start it again; a stale "shutoff" from before the start finished is ignored, a fresh one is followed
    assert.equal((await h.http('POST', `/api/v1/servers/${one}/actions`, { token: a.token, body: { action: 'start' } })).status, 202);
    await h.waitIdle(a.token, one, 'running');
    await guest(one, 'shutoff', (await lastFinish(one)) - 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await state(a.token, one), 'running');
    await guest(one, 'shutoff', Date.now() + 1);
    await h.waitIdle(a.token, one, 'stopped');
  });
});
