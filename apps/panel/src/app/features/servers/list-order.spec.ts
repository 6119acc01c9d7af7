import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inStateOrder } from './list-order.js';

const row = (id: string, state: string, createdAt: string) => ({ id, state, createdAt }) as { id: string; state: never; createdAt: string };

test('state order is the lifecycle, then oldest first, then id; descending reverses it all', () => {
  const rows = [
    row('a', 'stopped', '2026-01-01T00:00:03.000Z'),
    row('b', 'error', '2026-01-01T00:00:01.000Z'),
    row('c', 'running', '2026-01-01T00:00:05.000Z'),
    row('d', 'provisioning', '2026-01-01T00:00:09.000Z'),
    row('e', 'running', '2026-01-01T00:00:02.000Z'),
    row('f', 'deleting', '2026-01-01T00:00:00.000Z'),
    row('g', 'running', '2026-01-01T00:00:02.000Z'),
  ];
  const ids = (l: { id: string }[]) => l.map((r) => r.id).join('');
  // provisioning, running (e and g tie on time: id decides, then c), stopped, error, deleting.
  assert.equal(ids(inStateOrder(rows, 'asc')), 'degcabf');
  assert.equal(ids(inStateOrder(rows, 'desc')), 'fbacged');
  assert.equal(ids(rows), 'abcdefg', 'the input is left alone');
});
