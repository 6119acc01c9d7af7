import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseNodeCommand, type NodeCommand } from '@oblako/contracts';
import { FakeHypervisor } from '../hypervisor/fake.js';
import { HypervisorError, HypervisorErrorCode } from '../hypervisor/port.js';
import { domainName } from '../naming.js';
import { CommandExecutor } from './executor.js';
import { COMMAND_HANDLERS } from './handlers/index.js';
import { MinimalProvisioner } from './provisioner.js';
import { StepRecorder } from './recorder.js';
import { spec } from '../test/harness.js';

function cmd(op: string, serverId: string, extra: Record<string, unknown> = {}): NodeCommand {
  const r = parseNodeCommand({ v: 1, taskId: randomUUID(), serverId, nodeId: 'n1', attempt: 1, issuedAt: Date.now(), op, ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.command;
}

test('create twice defines once; the second is a no-op that reports running', async () => {
  const hv = new FakeHypervisor();
  const ex = new CommandExecutor(hv, new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 });
  const sp = spec();
  const c = cmd('create', sp.serverId, { spec: sp });
  const a = await ex.execute(c, new StepRecorder());
  const b = await ex.execute(c, new StepRecorder());
  assert.deepEqual([a.ok, b.ok, a.domainState, b.domainState], [true, true, 'running', 'running']);
  assert.equal(hv.calls.filter((x) => x === 'define').length, 1);
  assert.equal(hv.domains.size, 1);
});

test('a create whose spec names another server is refused', async () => {
  const ex = new CommandExecutor(new FakeHypervisor(), new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 });
  const sp = spec();
  const out = await ex.execute(cmd('create', randomUUID(), { spec: sp }), new StepRecorder());
  assert.equal(out.ok, false);
  assert.equal(out.error?.code, 'invalid_command');
});

test('hypervisor failures become failed outcomes with their code; timings record steps', async () => {
  const hv = new FakeHypervisor();
  const ex = new CommandExecutor(hv, new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 });
  const sp = spec();
  hv.failNext('start', new HypervisorError(HypervisorErrorCode.Other, 'no room for the guest'));
  const rec = new StepRecorder();
  const out = await ex.execute(cmd('create', sp.serverId, { spec: sp }), rec);
  assert.equal(out.ok, false);
  assert.equal(out.error?.code, 'hypervisor_error');
  assert.equal(out.domainState, 'shutoff');
  const t = rec.timings();
  assert.ok(t.steps.define! >= 0 && t.hypervisorStartedAt! >= t.receivedAt);
  // the redelivery converges
  const again = await ex.execute(cmd('create', sp.serverId, { spec: sp }), new StepRecorder());
  assert.equal(again.ok, true);
  assert.equal(await hv.state(domainName(sp.serverId)), 'running');
});

test('pause freezes a running domain and resume lets it run on; each converges when repeated', async () => {
  const hv = new FakeHypervisor();
  const ex = new CommandExecutor(hv, new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 });
  const sp = spec();
  assert.equal((await ex.execute(cmd('create', sp.serverId, { spec: sp }), new StepRecorder())).ok, true);
  const paused = await ex.execute(cmd('pause', sp.serverId), new StepRecorder());
  assert.deepEqual([paused.ok, paused.domainState], [true, 'paused']);
  assert.deepEqual((await ex.execute(cmd('pause', sp.serverId), new StepRecorder())).domainState, 'paused');
  assert.equal(hv.calls.filter((x) => x.startsWith('pause:')).length, 1);
  const resumed = await ex.execute(cmd('resume', sp.serverId), new StepRecorder());
  assert.deepEqual([resumed.ok, resumed.domainState], [true, 'running']);
  assert.equal((await ex.execute(cmd('resume', sp.serverId), new StepRecorder())).ok, true);
  assert.equal(hv.calls.filter((x) => x.startsWith('resume:')).length, 1);
});

test('pause of a stopped server and resume of a running-nowhere server fail with the reason', async () => {
  const hv = new FakeHypervisor();
  const ex = new CommandExecutor(hv, new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 });
  const sp = spec();
  await ex.execute(cmd('create', sp.serverId, { spec: sp }), new StepRecorder());
  await ex.execute(cmd('stop', sp.serverId, { graceSeconds: 0 }), new StepRecorder());
  const p = await ex.execute(cmd('pause', sp.serverId), new StepRecorder());
  assert.deepEqual([p.ok, p.error?.code, p.domainState], [false, 'not_running', 'shutoff']);
  const r = await ex.execute(cmd('resume', sp.serverId), new StepRecorder());
  assert.deepEqual([r.ok, r.error?.code], [false, 'not_paused']);
  const missing = await ex.execute(cmd('pause', randomUUID()), new StepRecorder());
  assert.equal(missing.error?.code, 'domain_missing');
});

test('a stuck handler is abandoned at its watchdog timeout with a timeout failure; the next command runs', async () => {
  const hv = new FakeHypervisor();
  const stuck = { op: 'start' as const, run: () => new Promise<void>(() => undefined), timeoutMs: () => 80 };
  const ex = new CommandExecutor(hv, new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 }, undefined, { ...COMMAND_HANDLERS, start: stuck });
  const sp = spec();
  assert.equal((await ex.execute(cmd('create', sp.serverId, { spec: sp }), new StepRecorder())).ok, true);
  const t0 = Date.now();
  const out = await ex.execute(cmd('start', sp.serverId), new StepRecorder());
  const waited = Date.now() - t0;
  assert.deepEqual([out.ok, out.error?.code, out.domainState], [false, 'timeout', 'running']);
  assert.match(out.error!.message, /did not finish within/);
  assert.ok(waited >= 70 && waited < 2000, `abandoned after ${waited} ms`);
  // the executor is free for the next command
  assert.equal((await ex.execute(cmd('stop', sp.serverId, { graceSeconds: 0 }), new StepRecorder())).ok, true);
});

test('every op has a handler registered under its op', () => {
  for (const [op, handler] of Object.entries(COMMAND_HANDLERS)) assert.equal(handler.op, op);
});
