import { ServerState, TaskOp } from './enums.js';

/**
 * The one table that decides which server state changes are allowed.
 * The API refuses anything else with 409 and the reason from {@link planAction}.
 */
export const SERVER_TRANSITIONS: Readonly<Record<ServerState, readonly ServerState[]>> = {
  pending_payment: ['provisioning', 'deleting', 'deleted'],
  provisioning: ['running', 'error', 'deleting'],
  running: ['stopping', 'rebooting', 'rebuilding', 'resizing', 'pausing', 'suspended', 'deleting', 'error', 'stopped'],
  stopped: ['starting', 'rebuilding', 'resizing', 'suspended', 'deleting', 'error', 'running'],
  starting: ['running', 'stopped', 'error', 'deleting'],
  stopping: ['stopped', 'running', 'paused', 'error', 'deleting'],
  rebooting: ['running', 'stopped', 'error', 'deleting'],
  rebuilding: ['running', 'stopped', 'error', 'deleting'],
  resizing: ['running', 'stopped', 'error', 'deleting'],
  pausing: ['paused', 'running', 'error', 'deleting'],
  paused: ['resuming', 'stopping', 'suspended', 'deleting', 'error', 'running', 'stopped'],
  resuming: ['running', 'paused', 'error', 'deleting'],
  suspended: ['starting', 'running', 'paused', 'stopped', 'deleting', 'error'],
  error: ['starting', 'stopping', 'rebuilding', 'deleting', 'running', 'stopped'],
  deleting: ['deleted', 'error'],
  deleted: [],
};

export function canTransition(from: ServerState, to: ServerState): boolean {
  return from === to || SERVER_TRANSITIONS[from].includes(to);
}

/** What a customer (or staff) may ask for; each maps to one task op. */
export const ServerAction = {
  Start: 'start',
  Stop: 'stop',
  Reboot: 'reboot',
  Rebuild: 'rebuild',
  Delete: 'delete',
  Suspend: 'suspend',
  Unsuspend: 'unsuspend',
  Pause: 'pause',
  Resume: 'resume',
} as const;
export type ServerAction = (typeof ServerAction)[keyof typeof ServerAction];
export const SERVER_ACTIONS = Object.values(ServerAction) as readonly ServerAction[];

interface ActionRule {
  op: TaskOp;
  /** States the server may be in when the action is asked for. */
  from: readonly ServerState[];
  /** State while the task runs. */
  via: ServerState;
  /** State when the task succeeds. */
  to: ServerState;
  /** State when the task fails. */
  onFailure: ServerState | 'previous';
}

export const ACTION_RULES: Readonly<Record<ServerAction, ActionRule>> = {
  start: { op: 'start', from: ['stopped', 'error'], via: 'starting', to: 'running', onFailure: 'previous' },
  stop: { op: 'stop', from: ['running', 'paused', 'error'], via: 'stopping', to: 'stopped', onFailure: 'previous' },
  reboot: { op: 'reboot', from: ['running'], via: 'rebooting', to: 'running', onFailure: 'previous' },
  rebuild: { op: 'rebuild', from: ['running', 'stopped', 'error'], via: 'rebuilding', to: 'running', onFailure: 'error' },
  delete: {
    op: 'delete',
    from: ['running', 'paused', 'stopped', 'error', 'suspended', 'pending_payment', 'provisioning'],
    via: 'deleting',
    to: 'deleted',
    onFailure: 'error',
  },
  suspend: { op: 'suspend', from: ['running', 'paused', 'stopped'], via: 'suspended', to: 'suspended', onFailure: 'previous' },
  unsuspend: { op: 'unsuspend', from: ['suspended'], via: 'starting', to: 'running', onFailure: 'previous' },
  pause: { op: 'pause', from: ['running'], via: 'pausing', to: 'paused', onFailure: 'previous' },
  resume: { op: 'resume', from: ['paused'], via: 'resuming', to: 'running', onFailure: 'previous' },
};

export type ActionPlan =
  | { ok: true; op: TaskOp; via: ServerState; to: ServerState }
  | { ok: false; reason: string };

const TRANSIENT: readonly ServerState[] = ['provisioning', 'starting', 'stopping', 'rebooting', 'rebuilding', 'resizing', 'pausing', 'resuming', 'deleting'];

/** Decide whether `action` may run on a server in `state`, and if not, say why in words a person can act on. */
export function planAction(state: ServerState, action: ServerAction, hasActiveTask = false): ActionPlan {
  const rule = ACTION_RULES[action];
  if (state === 'deleted') return { ok: false, reason: 'The server has been deleted.' };
  if (action !== 'delete' && (hasActiveTask || TRANSIENT.includes(state))) {
    return { ok: false, reason: `The server is ${state.replace('_', ' ')}; wait for the current task to finish and try again.` };
  }
  if (action === 'delete' && state === 'deleting') {
    return { ok: false, reason: 'The server is already being deleted.' };
  }
  if (!rule.from.includes(state)) {
    const allowed = rule.from.map((s) => s.replace('_', ' ')).join(', ');
    return {
      ok: false,
      reason: `Cannot ${action} a server that is ${state.replace('_', ' ')}; ${action} is allowed only when it is ${allowed}.`,
    };
  }
  if (state === 'suspended' && action !== 'unsuspend' && action !== 'delete') {
    return { ok: false, reason: 'The server is suspended; settle the account or contact support to have it unsuspended.' };
  }
  return { ok: true, op: rule.op, via: rule.via, to: rule.to };
}

export function isTransient(state: ServerState): boolean {
  return TRANSIENT.includes(state);
}
