import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeView } from '@oblako/contracts';
import { gaugeLevel, nodeCapacity } from './capacity.js';

const node: NodeView = {
  id: 'n1', name: 'hv1', locationId: 'l1', state: 'online', vcpus: 8, memoryMiB: 16384, diskGiB: 500,
  cpuOvercommit: 4, memoryOvercommit: 1.5, usedVcpus: 16, usedMemoryMiB: 12288, usedDiskGiB: 480, lastHeartbeatAt: null, backupPublicKey: null,
};

test('capacity applies the overcommit ratios to vCPU and RAM, not to disk', () => {
  const c = nodeCapacity(node);
  assert.deepEqual(c.vcpus, { used: 16, total: 32, free: 16, percent: 50 });
  assert.equal(c.memoryMiB.total, 24576);
  assert.equal(c.diskGiB.percent, 96);
  assert.equal(gaugeLevel(c.diskGiB.percent), 'full');
  assert.equal(gaugeLevel(85), 'warn');
  assert.equal(gaugeLevel(10), 'ok');
});
