import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupReasons } from './action-reasons.js';

test('disabled actions that share a reason are one line naming them all; enabled ones and empty reasons are left out', () => {
  const wait = 'The server is provisioning; wait for the current task to finish and try again.';
  const { groups, describedBy } = groupReasons([
    { action: 'start', label: 'Start', enabled: false, reason: wait },
    { action: 'stop', label: 'Stop', enabled: false, reason: 'Cannot stop a server that is stopped.' },
    { action: 'reboot', label: 'Reboot', enabled: false, reason: wait },
    { action: 'delete', label: 'Delete', enabled: true, reason: '' },
    { action: 'pause', label: 'Pause', enabled: false, reason: wait },
    { action: 'resume', label: 'Resume', enabled: false, reason: '' },
  ], 'why-s1-');
  assert.deepEqual(groups, [
    { id: 'why-s1-start', actions: ['start', 'reboot', 'pause'], labels: 'Start, Reboot and Pause', reason: wait },
    { id: 'why-s1-stop', actions: ['stop'], labels: 'Stop', reason: 'Cannot stop a server that is stopped.' },
  ]);
  assert.deepEqual(describedBy, { start: 'why-s1-start', reboot: 'why-s1-start', pause: 'why-s1-start', stop: 'why-s1-stop' });
  assert.equal(groupReasons([{ action: 'a', label: 'A', enabled: false, reason: 'x' }, { action: 'b', label: 'B', enabled: false, reason: 'x' }], '').groups[0]!.labels, 'A and B');
});
