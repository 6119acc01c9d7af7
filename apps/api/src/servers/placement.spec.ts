import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fits, sellable, weighNodes, type NodeCapacity } from './placement.js';

const node = (id: string, over: Partial<NodeCapacity> = {}): NodeCapacity => ({
  id, vcpus: 8, memoryMiB: 16384, diskGiB: 500, cpuOvercommit: 4, memoryOvercommit: 1, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0, ...over,
});
const small = { vcpus: 1, memoryMiB: 1024, diskGiB: 20 };

test('overcommit ratios multiply vCPU and RAM but never disk', () => {
  assert.deepEqual(sellable(node('a', { cpuOvercommit: 2.5, memoryOvercommit: 1.5 })), { vcpus: 20, memoryMiB: 24576, diskGiB: 500 });
});

test('a node fits only while every resource has room', () => {
  assert.equal(fits(node('a', { usedMemoryMiB: 15360 }), small), true);
  assert.equal(fits(node('a', { usedMemoryMiB: 15361 }), small), false);
  assert.equal(fits(node('a', { usedVcpus: 32 }), small), false);
  assert.equal(fits(node('a', { usedDiskGiB: 481 }), small), false);
});

test('spread prefers the emptiest node, judged by its scarcest resource', () => {
  const nodes = [
    node('busy', { usedMemoryMiB: 12000 }),
    node('empty'),
    node('cpu-starved', { usedVcpus: 31 }),
    node('full', { usedMemoryMiB: 16384 }),
  ];
  assert.deepEqual(weighNodes(nodes, small).map((n) => n.id), ['empty', 'busy', 'cpu-starved']);
});

test('ties keep a stable order', () => {
  assert.deepEqual(weighNodes([node('b'), node('a')], small).map((n) => n.id), ['a', 'b']);
});
