/** Lifecycle of a virtual server as the customer sees it. */
export const ServerState = {
  PendingPayment: 'pending_payment',
  Provisioning: 'provisioning',
  Running: 'running',
  Stopped: 'stopped',
  Starting: 'starting',
  Stopping: 'stopping',
  Rebooting: 'rebooting',
  Rebuilding: 'rebuilding',
  Resizing: 'resizing',
  Pausing: 'pausing',
  /** Frozen with its memory kept (libvirt suspend): it answers nothing until resumed. */
  Paused: 'paused',
  Resuming: 'resuming',
  /** A snapshot is being taken, reverted to or deleted (snapshot_create / snapshot_revert / snapshot_delete). */
  Snapshotting: 'snapshotting',
  /** A backup is being taken or deleted (backup_create / backup_delete); the guest keeps running. */
  BackingUp: 'backing_up',
  /** A backup is being restored in place (backup_restore): the disk is replaced. */
  Restoring: 'restoring',
  Rescuing: 'rescuing',
  /** Booted into the node's rescue system with its own disk attached as a second disk, on its own address. */
  Rescue: 'rescue',
  Unrescuing: 'unrescuing',
  Suspended: 'suspended',
  Error: 'error',
  Deleting: 'deleting',
  Deleted: 'deleted',
} as const;
export type ServerState = (typeof ServerState)[keyof typeof ServerState];
export const SERVER_STATES = Object.values(ServerState) as readonly ServerState[];

/**
 * The order a person reads a server's life in, for "sort by state" (API and panel) and for state pickers:
 * ordered and being built, coming up, up (and what happens while up), going down and down, held by staff
 * or billing, broken, going away and gone. Every state exactly once (contracts.spec checks it).
 */
export const SERVER_STATE_ORDER: readonly ServerState[] = [
  ServerState.PendingPayment,
  ServerState.Provisioning,
  ServerState.Starting,
  ServerState.Running,
  ServerState.Rebooting,
  ServerState.Rebuilding,
  ServerState.Resizing,
  ServerState.Snapshotting,
  ServerState.BackingUp,
  ServerState.Restoring,
  ServerState.Rescuing,
  ServerState.Rescue,
  ServerState.Unrescuing,
  ServerState.Pausing,
  ServerState.Paused,
  ServerState.Resuming,
  ServerState.Stopping,
  ServerState.Stopped,
  ServerState.Suspended,
  ServerState.Error,
  ServerState.Deleting,
  ServerState.Deleted,
];

/** A state's place in SERVER_STATE_ORDER (1-based, as SQL's array_position); an unknown state sorts last. */
export function serverStateRank(state: string): number {
  const i = SERVER_STATE_ORDER.indexOf(state as ServerState);
  return i === -1 ? SERVER_STATE_ORDER.length + 1 : i + 1;
}

/** Compare two states in lifecycle order (for Array.prototype.sort). */
export function compareServerStates(a: string, b: string): number {
  return serverStateRank(a) - serverStateRank(b);
}

/** One operation on one server, carried from the API to a node as a command. */
export const TaskOp = {
  Create: 'create',
  Start: 'start',
  Stop: 'stop',
  Reboot: 'reboot',
  Rebuild: 'rebuild',
  Resize: 'resize',
  Suspend: 'suspend',
  Unsuspend: 'unsuspend',
  Pause: 'pause',
  Resume: 'resume',
  Delete: 'delete',
  BootIso: 'boot_iso',
  DetachIso: 'detach_iso',
  ResetPassword: 'reset_password',
  SnapshotCreate: 'snapshot_create',
  SnapshotRevert: 'snapshot_revert',
  SnapshotDelete: 'snapshot_delete',
  Rescue: 'rescue',
  Unrescue: 'unrescue',
  Throttle: 'throttle',
  BackupCreate: 'backup_create',
  BackupRestore: 'backup_restore',
  BackupDelete: 'backup_delete',
} as const;
export type TaskOp = (typeof TaskOp)[keyof typeof TaskOp];
export const TASK_OPS = Object.values(TaskOp) as readonly TaskOp[];

export const TaskState = {
  Queued: 'queued',
  Dispatched: 'dispatched',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];
export const TASK_STATES = Object.values(TaskState) as readonly TaskState[];
export const FINISHED_TASK_STATES: readonly TaskState[] = [TaskState.Succeeded, TaskState.Failed];
/** The one list of task states in which a task still holds its server (SQL uses it as `= ANY($n)`). */
export const ACTIVE_TASK_STATES: readonly TaskState[] = [TaskState.Queued, TaskState.Dispatched, TaskState.Running];

export const NodeState = {
  /** Registered; its daemon has not sent a heartbeat yet. Placement skips it. */
  Pending: 'pending',
  Online: 'online',
  Offline: 'offline',
  Maintenance: 'maintenance',
} as const;
export type NodeState = (typeof NodeState)[keyof typeof NodeState];
export const NODE_STATES = Object.values(NodeState) as readonly NodeState[];

/** Role of a user inside one tenant (membership). */
export const TenantRole = {
  Owner: 'owner',
  Admin: 'admin',
  Member: 'member',
  Billing: 'billing',
} as const;
export type TenantRole = (typeof TenantRole)[keyof typeof TenantRole];
export const TENANT_ROLES = Object.values(TenantRole) as readonly TenantRole[];

/** Provider-side role, across all tenants. */
export const StaffRole = {
  Admin: 'admin',
  Support: 'support',
  Billing: 'billing',
} as const;
export type StaffRole = (typeof StaffRole)[keyof typeof StaffRole];
export const STAFF_ROLES = Object.values(StaffRole) as readonly StaffRole[];

export const IpFamily = { V4: 4, V6: 6 } as const;
export type IpFamily = (typeof IpFamily)[keyof typeof IpFamily];

/** Domain state as libvirt reports it, reduced to what the control plane needs. */
export const DomainState = {
  Running: 'running',
  ShutOff: 'shutoff',
  Paused: 'paused',
  Crashed: 'crashed',
  Missing: 'missing',
  Other: 'other',
} as const;
export type DomainState = (typeof DomainState)[keyof typeof DomainState];
export const DOMAIN_STATES = Object.values(DomainState) as readonly DomainState[];
