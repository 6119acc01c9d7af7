import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canTransition } from '@oblako/contracts';
import { outcomeOf } from './task-events.service.js';

test('each op moves the server from its transient state to the contract target, or back on failure', () => {
  assert.deepEqual(outcomeOf('create', 'provisioning'), { via: 'provisioning', ok: 'running', failed: 'error' });
  assert.deepEqual(outcomeOf('stop', 'running'), { via: 'stopping', ok: 'stopped', failed: 'running' });
  assert.deepEqual(outcomeOf('start', 'error'), { via: 'starting', ok: 'running', failed: 'error' });
  assert.deepEqual(outcomeOf('reboot', 'running'), { via: 'rebooting', ok: 'running', failed: 'running' });
  assert.deepEqual(outcomeOf('delete', 'running'), { via: 'deleting', ok: 'deleted', failed: 'error' });
  assert.equal(outcomeOf('resize', 'running'), null, 'ops without a customer action are left alone');
});

test('every outcome is a transition the contract table allows', () => {
  for (const op of ['create', 'start', 'stop', 'reboot', 'delete']) {
    for (const prev of ['running', 'stopped', 'error'] as const) {
      const o = outcomeOf(op, prev)!;
      assert.ok(canTransition(o.via, o.ok), `${op}: ${o.via} -> ${o.ok}`);
      assert.ok(canTransition(o.via, o.failed), `${op} failed: ${o.via} -> ${o.failed}`);
    }
  }
});
