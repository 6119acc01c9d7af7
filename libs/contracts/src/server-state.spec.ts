import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAction, canTransition, SERVER_TRANSITIONS, ACTION_RULES } from './server-state.js';
import { SERVER_STATES } from './enums.js';

test('every action rule moves along edges of the transition table', () => {
  for (const [action, rule] of Object.entries(ACTION_RULES)) {
    for (const from of rule.from) {
      assert.ok(canTransition(from, rule.via), `${action}: ${from} -> ${rule.via} is not in the table`);
    }
    if (rule.via !== rule.to) assert.ok(canTransition(rule.via, rule.to), `${action}: ${rule.via} -> ${rule.to}`);
  }
});

test('the table names only known states and deleted is final', () => {
  for (const [from, tos] of Object.entries(SERVER_TRANSITIONS)) {
    assert.ok(SERVER_STATES.includes(from as never));
    for (const to of tos) assert.ok(SERVER_STATES.includes(to), `${from} -> ${to}`);
  }
  assert.deepEqual(SERVER_TRANSITIONS.deleted, []);
});

test('planAction refuses with a reason a person can act on', () => {
  const stopStopped = planAction('stopped', 'stop');
  assert.equal(stopStopped.ok, false);
  assert.match(!stopStopped.ok ? stopStopped.reason : '', /Cannot stop a server that is stopped/);
  const busy = planAction('running', 'reboot', true);
  assert.equal(busy.ok, false);
  assert.match(!busy.ok ? busy.reason : '', /wait for the current task/);
  assert.deepEqual(planAction('running', 'stop'), { ok: true, op: 'stop', via: 'stopping', to: 'stopped' });
  assert.equal(planAction('deleted', 'delete').ok, false);
  assert.equal(planAction('provisioning', 'delete').ok, true);
});
