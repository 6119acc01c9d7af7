import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseNodeCommand, type NodeCommand } from '@oblako/contracts';
import { FakeHypervisor } from '../hypervisor/fake.js';
import { domainName, snapshotName } from '../naming.js';
import { CommandExecutor } from './executor.js';
import { MinimalProvisioner } from './provisioner.js';
import { StepRecorder } from './recorder.js';
import { spec } from '../test/harness.js';

function cmd(op: string, serverId: string, extra: Record<string, unknown> = {}): NodeCommand {
  const r = parseNodeCommand({ v: 1, taskId: randomUUID(), serverId, nodeId: 'n1', attempt: 1, issuedAt: Date.now(), op, ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.command;
}

test('snapshots: create is idempotent and reports bytes; revert brings back the state it was taken in; delete of a missing one succeeds', async () => {
  const hv = new FakeHypervisor();
  const ex = new CommandExecutor(hv, new MinimalProvisioner({ domainType: 'test' }), { stopGraceSeconds: 1 });
  const sp = spec();
  assert.equal((await ex.execute(cmd('create', sp.serverId, { spec: sp }), new StepRecorder())).ok, true);
  const snap = { id: randomUUID() };
  const create = cmd('snapshot_create', sp.serverId, { snapshot: snap });
  const a = await ex.execute(create, new StepRecorder());
  const b = await ex.execute(create, new StepRecorder());
  assert.deepEqual([a.ok, b.ok], [true, true]);
  assert.equal(a.output?.['bytes'], 0, 'the test driver has no disk file: 0 bytes');
  assert.deepEqual(await hv.snapshotNames(domainName(sp.serverId)), [snapshotName(snap.id)], 'one snapshot, however often asked');

  await hv.pause(domainName(sp.serverId));
  const reverted = await ex.execute(cmd('snapshot_revert', sp.serverId, { snapshot: snap }), new StepRecorder());
  assert.equal(reverted.ok, true);
  assert.equal(reverted.domainState, 'running', 'taken running: running again after the revert');

  const unknown = await ex.execute(cmd('snapshot_revert', sp.serverId, { snapshot: { id: randomUUID() } }), new StepRecorder());
  assert.equal(unknown.ok, false);
  assert.equal(unknown.error?.code, 'snapshot_missing');

  const del = cmd('snapshot_delete', sp.serverId, { snapshot: snap });
  assert.equal((await ex.execute(del, new StepRecorder())).ok, true);
  assert.equal((await ex.execute(del, new StepRecorder())).ok, true, 'deleting it again converges');
  assert.deepEqual(await hv.snapshotNames(domainName(sp.serverId)), []);

  const none = await ex.execute(cmd('snapshot_create', randomUUID(), { snapshot: snap }), new StepRecorder());
  assert.equal(none.error?.code, 'domain_missing');
});

test('a snapshot name is only ever made from a UUID', () => {
  assert.throws(() => snapshotName('../x; rm -rf /'));
  assert.equal(snapshotName('6F1C0000-0000-4000-8000-000000000001'), 's-6f1c0000-0000-4000-8000-000000000001');
});
