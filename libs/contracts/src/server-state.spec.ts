import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  planAction, planOperation, canTransition, outcomeOf, ruleEdges, SERVER_TRANSITIONS, ACTION_RULES, TRANSIENT, CUSTOMER_ACTIONS,
} from './server-state.js';
import { OPERATIONS } from './operations/index.js';
import { NodeCommandSchema } from './commands.js';
import { SERVER_STATES, SERVER_STATE_ORDER, TASK_OPS, compareServerStates, serverStateRank } from './enums.js';

test('every op of the contract has an operation file with a rule and a command schema', () => {
  assert.deepEqual(Object.keys(OPERATIONS).sort(), [...TASK_OPS].sort());
  for (const op of TASK_OPS) {
    const o = OPERATIONS[op];
    assert.equal(o.op, op);
    assert.ok(o.rule.from.length > 0, `${op} starts from somewhere`);
    assert.ok(NodeCommandSchema.options.includes(o.command as never), `${op}'s command is in the command union`);
  }
});

test('every rule walks along the table: from each start state, through its running state, to each of its ends', () => {
  for (const op of TASK_OPS) {
    const rule = OPERATIONS[op].rule;
    for (const from of rule.from) {
      assert.ok(canTransition(from, rule.running), `${op}: ${from} -> ${rule.running}`);
      for (const ok of [true, false]) {
        const end = outcomeOf(op, from, ok);
        assert.ok(SERVER_STATES.includes(end), `${op}: ${end} is a state`);
        assert.ok(canTransition(rule.running, end), `${op} ${ok ? 'succeeded' : 'failed'}: ${rule.running} -> ${end} (from ${from})`);
        const plan = planOperation(from, op);
        if (from !== 'deleted') assert.equal(plan.ok, true, `${op} may start from ${from}: ${!plan.ok ? plan.reason : ''}`);
      }
    }
    for (const also of rule.alsoEnds ?? []) assert.ok(canTransition(rule.running, also), `${op}: ${rule.running} -> ${also}`);
    for (const [a, b] of ruleEdges(rule)) assert.ok(SERVER_TRANSITIONS[a].includes(b));
    // and refused from every other state, with a reason
    for (const state of SERVER_STATES.filter((s) => !rule.from.includes(s))) {
      const plan = planOperation(state, op);
      assert.equal(plan.ok, false, `${op} must not start from ${state}`);
      assert.ok(!plan.ok && plan.reason.length > 10);
    }
  }
});

test('resize has a rule: a resize never leaves a server resizing for ever', () => {
  assert.equal(outcomeOf('resize', 'running', true), 'running');
  assert.equal(outcomeOf('resize', 'stopped', true), 'stopped');
  assert.equal(outcomeOf('resize', 'stopped', false), 'stopped');
  assert.ok(TRANSIENT.includes('resizing'));
});

test('the transient states are exactly the operations\' running states that are not also their end', () => {
  assert.deepEqual(
    [...TRANSIENT].sort(),
    ['backing_up', 'deleting', 'pausing', 'provisioning', 'rebooting', 'rebuilding', 'rescuing', 'resizing', 'restoring', 'resuming', 'snapshotting', 'starting', 'stopping', 'unrescuing'],
  );
  for (const s of TRANSIENT) assert.ok(SERVER_TRANSITIONS[s].includes('error') || s === 'rebuilding', `${s} can fail to error`);
});

test('the table names only known states and deleted is final', () => {
  for (const [from, tos] of Object.entries(SERVER_TRANSITIONS)) {
    assert.ok(SERVER_STATES.includes(from as never));
    for (const to of tos) assert.ok(SERVER_STATES.includes(to), `${from} -> ${to}`);
  }
  assert.deepEqual(SERVER_TRANSITIONS.deleted, []);
});

test('customers get the actions whose audience is customer; suspend and unsuspend stay with billing and staff', () => {
  assert.deepEqual([...CUSTOMER_ACTIONS].sort(), ['boot_iso', 'detach_iso', 'pause', 'reboot', 'rebuild', 'rescue', 'reset_password', 'resume', 'start', 'stop', 'unrescue']);
  assert.equal(ACTION_RULES.suspend.audience, 'system');
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

test('the lifecycle order names every state once, and sorts the way a person reads a server\'s life', () => {
  assert.equal(new Set(SERVER_STATE_ORDER).size, SERVER_STATE_ORDER.length, 'no state twice');
  assert.deepEqual([...SERVER_STATE_ORDER].sort(), [...SERVER_STATES].sort(), 'every state, nothing else');
  // SQL builds the order into a literal array: only plain words may go there.
  for (const s of SERVER_STATE_ORDER) assert.match(s, /^[a-z_]+$/);
  const shuffled = ['deleted', 'stopped', 'error', 'running', 'provisioning', 'pending_payment', 'deleting', 'suspended', 'starting'];
  assert.deepEqual([...shuffled].sort(compareServerStates),
    ['pending_payment', 'provisioning', 'starting', 'running', 'stopped', 'suspended', 'error', 'deleting', 'deleted']);
  // Alphabetical would put "deleted" first and "stopped" after "running" only by luck.
  assert.ok(serverStateRank('running') < serverStateRank('stopped'));
  assert.equal(serverStateRank('pending_payment'), 1, '1-based, as array_position');
  assert.equal(serverStateRank('no_such_state'), SERVER_STATE_ORDER.length + 1, 'an unknown state sorts last');
});

test('refusals read as a sentence: a suspended server says how to lift it, and the allowed states end in "or"', () => {
  for (const action of ['start', 'stop', 'reboot'] as const) {
    const p = planAction('suspended', action);
    assert.equal(!p.ok ? p.reason : '', 'The server is suspended; settle the account or contact support to have it unsuspended.', action);
  }
  const start = planAction('running', 'start');
  assert.equal(!start.ok ? start.reason : '', 'Cannot start a server that is running; start is allowed only when it is stopped or error.');
  const stop = planAction('stopped', 'stop');
  assert.match(!stop.ok ? stop.reason : '', /allowed only when it is running, paused or error\.$/);
  assert.equal(planAction('suspended', 'delete').ok, true);
});
