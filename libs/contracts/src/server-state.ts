import { ACTIVE_TASK_STATES, SERVER_STATES, ServerState, TaskOp, type TaskState } from './enums.js';
import { OPERATIONS, type OperationAudience, type StateRule } from './operations/index.js';

/**
 * Changes of state that no operation commands: the node reports them, or the control plane concludes them.
 * - the guest changed by itself (shut down from inside, started by the host's autostart, crashed: `error`);
 * - the hypervisor lost the domain, or a task of a transient state failed without a rule of its own: `error`;
 * - staff may delete a server whatever it is doing (a delete overtakes a running task).
 * Everything else in {@link SERVER_TRANSITIONS} comes from the operations' rules (libs/contracts/src/operations).
 */
const OBSERVED: readonly (readonly [ServerState, ServerState])[] = [
  ['running', 'stopped'], ['running', 'error'],
  ['stopped', 'running'], ['stopped', 'error'],
  ['paused', 'running'], ['paused', 'stopped'], ['paused', 'error'],
  ['error', 'running'], ['error', 'stopped'],
  ['suspended', 'paused'], ['suspended', 'running'], ['suspended', 'stopped'], ['suspended', 'error'],
  // an operation in flight: the node may report the guest's real state, or a delete overtakes it
  ['starting', 'stopped'], ['starting', 'error'], ['starting', 'deleting'],
  ['stopping', 'running'], ['stopping', 'paused'], ['stopping', 'error'], ['stopping', 'deleting'],
  ['rebooting', 'stopped'], ['rebooting', 'error'], ['rebooting', 'deleting'],
  ['rebuilding', 'stopped'], ['rebuilding', 'deleting'],
  ['resizing', 'error'], ['resizing', 'deleting'],
  ['pausing', 'error'], ['pausing', 'deleting'],
  ['resuming', 'paused'], ['resuming', 'error'], ['resuming', 'deleting'],
  ['snapshotting', 'error'], ['snapshotting', 'deleting'],
  ['backing_up', 'error'], ['backing_up', 'deleting'], ['restoring', 'error'], ['restoring', 'deleting'],
  ['rescuing', 'error'], ['rescuing', 'deleting'], ['unrescuing', 'error'], ['unrescuing', 'deleting'],
  // the rescue system shut down from inside, or the hypervisor lost it
  ['rescue', 'error'],
  ['provisioning', 'deleting'],
  ['deleting', 'error'],
  ['pending_payment', 'deleted'],
];

/** The edges one rule adds: from → running, running → each end. */
export function ruleEdges(rule: StateRule): [ServerState, ServerState][] {
  const ends = (end: ServerState | 'previous') => (end === 'previous' ? rule.from : [end]);
  const edges: [ServerState, ServerState][] = rule.from.map((f) => [f, rule.running]);
  for (const end of [...ends(rule.success), ...ends(rule.failure), ...(rule.alsoEnds ?? [])]) edges.push([rule.running, end]);
  return edges.filter(([a, b]) => a !== b);
}

function deriveTable(): Readonly<Record<ServerState, readonly ServerState[]>> {
  const table = Object.fromEntries(SERVER_STATES.map((s) => [s, new Set<ServerState>()])) as Record<ServerState, Set<ServerState>>;
  for (const op of Object.values(OPERATIONS)) for (const [a, b] of ruleEdges(op.rule)) table[a].add(b);
  for (const [a, b] of OBSERVED) table[a].add(b);
  return Object.fromEntries(SERVER_STATES.map((s) => [s, [...table[s]]])) as Record<ServerState, ServerState[]>;
}

/**
 * The one table that decides which server state changes are allowed, derived from the operations' rules
 * plus the observed changes above. The API refuses anything else with 409 and the reason from {@link planAction}.
 */
export const SERVER_TRANSITIONS: Readonly<Record<ServerState, readonly ServerState[]>> = deriveTable();

export function canTransition(from: ServerState, to: ServerState): boolean {
  return from === to || SERVER_TRANSITIONS[from].includes(to);
}

/** States in which an operation is running: the server takes no other action until it ends (a delete excepted). */
export const TRANSIENT: readonly ServerState[] = [
  ...new Set(Object.values(OPERATIONS).filter((o) => o.rule.running !== o.rule.success).map((o) => o.rule.running)),
];

/** What a customer (or staff) may ask for through `POST /servers/:id/actions`; each is one operation. */
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
  BootIso: 'boot_iso',
  DetachIso: 'detach_iso',
  Rescue: 'rescue',
  Unrescue: 'unrescue',
  ResetPassword: 'reset_password',
} as const satisfies Record<string, TaskOp>;
export type ServerAction = (typeof ServerAction)[keyof typeof ServerAction];
export const SERVER_ACTIONS = Object.values(ServerAction) as readonly ServerAction[];

/** What `POST /servers/:id/actions` takes from a customer: the actions whose operation's audience is `customer` (delete has its own route). */
export const CUSTOMER_ACTIONS = SERVER_ACTIONS.filter((a): a is CustomerAction => OPERATIONS[a].audience === 'customer' && a !== 'delete');
export type CustomerAction = Exclude<ServerAction, 'delete' | 'suspend' | 'unsuspend'>;

export interface ActionRule {
  op: TaskOp;
  /** States the server may be in when the action is asked for. */
  from: readonly ServerState[];
  /** State while the task runs. */
  via: ServerState;
  /** State when the task succeeds (`previous`: where it came from). */
  to: ServerState | 'previous';
  /** State when the task fails. */
  onFailure: ServerState | 'previous';
  audience: OperationAudience;
}

function actionRule(op: TaskOp): ActionRule {
  const o = OPERATIONS[op];
  return { op, from: o.rule.from, via: o.rule.running, to: o.rule.success, onFailure: o.rule.failure, audience: o.audience };
}

/** The rule of each action, from its operation's contract file. */
export const ACTION_RULES: Readonly<Record<ServerAction, ActionRule>> = Object.fromEntries(
  SERVER_ACTIONS.map((a) => [a, actionRule(a)]),
) as Record<ServerAction, ActionRule>;

export type ActionPlan =
  | { ok: true; op: TaskOp; via: ServerState; to: ServerState }
  | { ok: false; reason: string };

const words = (s: ServerState) => s.replace('_', ' ');
/** "a", "a or b", "a, b or c". */
const orList = (xs: string[]) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`);

/**
 * Decide whether operation `op` may start on a server in `state`, and if not, say why in words a person can act on.
 * Every operation, customer action or not, is checked here (the API's runner does it for each one).
 */
export function planOperation(state: ServerState, op: TaskOp, hasActiveTask = false): ActionPlan {
  const rule = OPERATIONS[op].rule;
  if (state === 'deleted') return { ok: false, reason: 'The server has been deleted.' };
  if (op !== 'delete' && (hasActiveTask || TRANSIENT.includes(state))) {
    return { ok: false, reason: `The server is ${words(state)}; wait for the current task to finish and try again.` };
  }
  if (op === 'delete' && state === 'deleting') {
    return { ok: false, reason: 'The server is already being deleted.' };
  }
  // Suspended first: "settle the account" is what a customer can act on, not the list of states start needs.
  if (state === 'suspended' && op !== 'unsuspend' && op !== 'delete') {
    return { ok: false, reason: 'The server is suspended; settle the account or contact support to have it unsuspended.' };
  }
  if (!rule.from.includes(state)) {
    return { ok: false, reason: `Cannot ${op} a server that is ${words(state)}; ${op} is allowed only when it is ${orList(rule.from.map(words))}.` };
  }
  return { ok: true, op, via: rule.running, to: rule.success === 'previous' ? state : rule.success };
}

/** {@link planOperation} for an action a person asked for. */
export function planAction(state: ServerState, action: ServerAction, hasActiveTask = false): ActionPlan {
  return planOperation(state, action, hasActiveTask);
}

/** Where a finished operation leaves the server: its rule's success or failure state (`previous` resolved). */
export function outcomeOf(op: TaskOp, previous: ServerState | null, ok: boolean): ServerState {
  const rule = OPERATIONS[op].rule;
  const end = ok ? rule.success : rule.failure;
  return end === 'previous' ? (previous ?? 'error') : end;
}

export function isTransient(state: ServerState): boolean {
  return TRANSIENT.includes(state);
}

export function isActiveTask(state: TaskState): boolean {
  return ACTIVE_TASK_STATES.includes(state);
}
