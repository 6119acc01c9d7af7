import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WIRE_VERSION, type NodeCommand } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { NodeEventHandlers } from '../src/node-events/event-handlers.js';
import type { Next, ResultContext } from '../src/operations/operation.js';
import { API_OPERATIONS } from '../src/operations/registry.js';
import { FakeNode, type FakeOutcome } from './support/fake-node.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
/** What the fake node answers next for a command, by op (default: success). */
const scripted = new Map<string, (cmd: NodeCommand) => FakeOutcome | null>();

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) => scripted.get(cmd.op)?.(cmd) ?? { ok: true });
});
after(async () => {
  await node?.stop();
  await h?.close();
});



test('every op of the contract has its API operation file, registered under its op', () => {
  for (const [op, operation] of Object.entries(API_OPERATIONS)) assert.equal(operation.op, op);
});

test('pause and resume: a customer pauses a running server and resumes it; the node gets one command each; wrong states answer 409, another tenant 404', async () => {
  const a = await h.register('pause');
  const b = await h.register('pause-other');
  const id = await h.orderRunning(a.token, 'paused-1');

  const pausing = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'pause' } });
  assert.equal(pausing.status, 202, JSON.stringify(pausing.body));
  assert.equal(pausing.body.state, 'pausing');
  const paused = await h.waitIdle(a.token, id, 'paused');
  assert.equal(paused.currentTask.op, 'pause');
  assert.equal(paused.currentTask.state, 'succeeded');
  const pauseCmds = node.received.filter((c) => c.serverId === id && c.op === 'pause');
  assert.equal(pauseCmds.length, 1);
  assert.equal(pauseCmds[0]!.attempt, 1);

  // paused: it may not reboot or pause again, and says why
  const reboot = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'reboot' } });
  assert.equal(reboot.status, 409);
  assert.match(reboot.body.message, /Cannot reboot a server that is paused; reboot is allowed only when it is running/);
  // another tenant: 404, never a hint
  const foreign = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: b.token, body: { action: 'resume' } });
  assert.equal(foreign.status, 404);

  const resuming = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'resume' } });
  assert.equal(resuming.status, 202, JSON.stringify(resuming.body));
  assert.equal(resuming.body.state, 'resuming');
  await h.waitIdle(a.token, id, 'running');

  // a failed pause goes back to running, with the node's reason on the task
  scripted.set('pause', () => ({ ok: false, error: { code: 'not_running', message: 'the guest is shut off' } }));
  try {
    await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'pause' } });
    const back = await h.waitIdle(a.token, id, 'running');
    assert.equal(back.currentTask.state, 'failed');
    assert.match(back.currentTask.error, /^not_running: the guest is shut off/);
  } finally {
    scripted.delete('pause');
  }
  const audit: { action: string; actor_kind: string }[] = await h.ds.query(
    `SELECT action, actor_kind FROM audit_log WHERE target_id = $1 AND action IN ('server.pause', 'server.resume') ORDER BY created_at`, [id],
  );
  assert.deepEqual(audit.map((r) => r.action), ['server.pause', 'server.resume', 'server.pause']);
});

test('an event kind nobody handles is logged, counted and terminated, not acknowledged in silence', async () => {
  const handlers = h.api.app.get(NodeEventHandlers);
  assert.deepEqual(handlers.kinds, ['backup.store_deleted', 'domain.state', 'image.progress', 'image.state', 'orphan.report', 'task.progress', 'task.result', 'usage', 'wire.refused']);
  const before = handlers.unhandledByKind['usage.sample'] ?? 0;
  await node.publish(h.seed.nodeId, 'usage.sample', { v: WIRE_VERSION, nodeId: h.seed.nodeId, serverId: randomUUID(), cpuNs: 1, at: Date.now() });
  await waitFor('the unhandled kind to be counted', () => ((handlers.unhandledByKind['usage.sample'] ?? 0) === before + 1 ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
  // terminated: it is not delivered again
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(handlers.unhandledByKind['usage.sample'], before + 1);
});

test('the runner retries a step when the operation says so: a new attempt, a result of the old attempt is ignored', async () => {
  const a = await h.register('retry');
  const id = await h.orderRunning(a.token, 'retry-1');
  await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } });
  await h.waitIdle(a.token, id, 'stopped');

  // An operation that retries a failed step once on the same node (what a create elsewhere would do with another node).
  const start = API_OPERATIONS.start as { onResult?: (ctx: ResultContext) => Promise<Next> };
  const original = start.onResult;
  start.onResult = async (ctx) => {
    if (!ctx.result.ok && ctx.task.attempts < 2) return { kind: 'retry', step: { nodeId: ctx.task.nodeId!, command: {} }, reason: 'try again' };
    return ctx.result.ok ? { kind: 'end', ok: true } : { kind: 'end', ok: false, error: ctx.result.error?.message ?? 'failed' };
  };
  let firstAttempt: NodeCommand | undefined;
  node.received.length = 0;
  scripted.set('start', (cmd) => (cmd.attempt === 1 ? { ok: false, error: { code: 'host_error', message: 'first try fails' } } : { ok: true }));
  try {
    const r = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'start' } });
    assert.equal(r.status, 202);
    firstAttempt = await waitFor('the first start', () => node.received.find((c) => c.serverId === id && c.op === 'start'), { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(firstAttempt.attempt, 1);
    const second = await waitFor('the retried start', () => node.received.find((c) => c.serverId === id && c.op === 'start' && c.attempt === 2), { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(second.taskId, firstAttempt.taskId, 'the same task, a new attempt');
    const running = await h.waitIdle(a.token, id, 'running');
    assert.equal(running.currentTask.attempts, 2);
    assert.equal(running.currentTask.state, 'succeeded');
    // a late answer of attempt 1 (say, a node that was slow) changes nothing
    await node.answer(firstAttempt, { ok: false, error: { code: 'host_error', message: 'late' } });
    await new Promise((r) => setTimeout(r, 500));
    const still = await h.http('GET', `/api/v1/servers/${id}`, { token: a.token });
    assert.equal(still.body.state, 'running');
    assert.equal(still.body.currentTask.state, 'succeeded');
    const [row] = await h.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1 AND action = 'task.retry'`, [id]);
    assert.equal(row.n, 1);
  } finally {
    start.onResult = original;
    scripted.delete('start');
  }
});
