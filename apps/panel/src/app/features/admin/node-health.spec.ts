import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeView } from '@oblako/contracts';
import { heartbeatAge, offlineNodes } from './node-health.js';

test('heartbeat ages read as people say them', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  assert.equal(heartbeatAge(null, now), 'never');
  assert.equal(heartbeatAge('2026-12-02T09:59:48Z', now), '12 s ago');
  assert.equal(heartbeatAge('2026-12-02T09:56:00Z', now), '4 min ago');
  assert.equal(heartbeatAge('2026-12-02T07:00:00Z', now), '3 h ago');
  assert.equal(heartbeatAge('not a date', now), 'unknown');
});

test('only offline nodes raise the alert (maintenance is on purpose)', () => {
  const n = (name: string, state: NodeView['state']) => ({ id: name, name, state }) as NodeView;
  assert.deepEqual(offlineNodes([n('a', 'online'), n('b', 'offline'), n('c', 'maintenance')]).map((x) => x.name), ['b']);
});
