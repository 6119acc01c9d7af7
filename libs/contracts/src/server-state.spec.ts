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

test('pause and resume: a running server pauses, a paused one resumes, stops, suspends or is deleted', () => {
  assert.deepEqual(planAction('running', 'pause'), { ok: true, op: 'pause', via: 'pausing', to: 'paused' });
  assert.deepEqual(planAction('paused', 'resume'), { ok: true, op: 'resume', via: 'resuming', to: 'running' });
  for (const action of ['stop', 'suspend', 'delete'] as const) assert.equal(planAction('paused', action).ok, true, action);
  const pauseStopped = planAction('stopped', 'pause');
  assert.match(!pauseStopped.ok ? pauseStopped.reason : '', /pause is allowed only when it is running/);
  assert.match(((p) => (!p.ok ? p.reason : ''))(planAction('pausing', 'resume')), /wait for the current task/);
  // a failure goes back to where it came from
  for (const [from, via] of [['running', 'pausing'], ['paused', 'resuming'], ['paused', 'stopping'], ['paused', 'suspended']] as const) {
    assert.ok(canTransition(via, from), `${via} -> ${from}`);
  }
});
