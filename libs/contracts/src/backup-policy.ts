/**
 * Backup stores, schedules, retention and the grace period of deleted servers' backups (issue 12): the views the
 * API answers and the limits the panel checks early (the API is the authority).
 */

export const BACKUP_STORE_KINDS = ['sftp'] as const;
export type BackupStoreKind = (typeof BACKUP_STORE_KINDS)[number];

/** A place off the hypervisors where backups go. Nodes log in with their own key (`backupPublicKey` of the node). */
export interface BackupStoreView {
  id: string;
  locationId: string;
  name: string;
  kind: BackupStoreKind;
  host: string;
  port: number;
  username: string;
  /** Absolute folder on the store under which backups are written. */
  basePath: string;
  /** The store's pinned host key as one known_hosts line (`<host or [host]:port> <type> <base64>`). */
  hostKey: string;
  /** `SHA256:...` of the pinned key, as `ssh-keygen -l` prints it. */
  hostKeyFingerprint: string;
  /** Disabled stores take no new backups; their backups stay restorable. */
  enabled: boolean;
  /** Backups held there (any state): a store with backups cannot be deleted, only disabled. */
  backupCount: number;
  /** Of those, the ready ones (restorable). */
  readyBackupCount: number;
  /** Bytes the ready backups take on the store (their recorded sizes). */
  usedBytes: number;
  createdAt: string;
}

export const BACKUP_BASE_PATH_MAX_LENGTH = 255;
/** The base path goes into commands run on the store over ssh: only these characters, so no quoting is needed. */
export const BACKUP_BASE_PATH_PATTERN = /^\/[A-Za-z0-9._/-]*$/;
/** A login name on the store (POSIX portable user names). */
export const BACKUP_USERNAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export function basePathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'basePath must be an absolute path (start with /).';
  if (path.length > BACKUP_BASE_PATH_MAX_LENGTH) return `basePath may be at most ${BACKUP_BASE_PATH_MAX_LENGTH} characters long.`;
  if (!BACKUP_BASE_PATH_PATTERN.test(path)) return 'basePath may contain only letters, digits, ".", "_", "-" and "/".';
  if (path.split('/').some((seg) => seg === '..' || seg === '.')) return 'basePath may not contain "." or ".." segments.';
  if (path === '/') return 'basePath may not be the root folder; choose a folder for the backups, e.g. /srv/backups.';
  return null;
}

export const BACKUP_FREQUENCIES = ['daily', 'weekly'] as const;
export type BackupFrequency = (typeof BACKUP_FREQUENCIES)[number];

/** How many backups of each kind a server keeps (GFS). Every field 0 means "none of that bucket". */
export interface RetentionPolicy {
  /** The newest N ready backups. */
  keepLast: number;
  /** The newest backup of each of the last N days (UTC) that have one. */
  keepDaily: number;
  /** The newest backup of each of the last N ISO weeks that have one. */
  keepWeekly: number;
  /** The newest backup of each of the last N calendar months that have one. */
  keepMonthly: number;
}

/** Upper bounds of each retention field (a per-server policy is checked against them). */
export const RETENTION_MAX: RetentionPolicy = { keepLast: 30, keepDaily: 31, keepWeekly: 52, keepMonthly: 24 };
/** What a server keeps when nobody chose otherwise. */
export const RETENTION_DEFAULT: RetentionPolicy = { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 };

/** A server's backup schedule and retention policy (`GET/PUT /servers/:id/backup-schedule`). */
export interface BackupScheduleView {
  serverId: string;
  enabled: boolean;
  frequency: BackupFrequency;
  /** 0 = Sunday ... 6 = Saturday (UTC); null for daily. */
  weekday: number | null;
  /** The window opens at this hour, UTC (0-23). */
  windowStartHour: number;
  /** The window lasts this many hours (1-23). */
  windowHours: number;
  retention: RetentionPolicy;
  /** `true` when the server has no schedule saved yet: these are the defaults. */
  isDefault: boolean;
  /** When the next window opens (null while disabled). */
  nextWindowAt: string | null;
  /** The window a scheduled backup was last started for (null: none yet). */
  lastWindowAt: string | null;
  /** Why the last scheduled backup could not start (null when it did). A backup that started and failed says why itself. */
  lastError: string | null;
}

export const BACKUP_SCHEDULE_DEFAULT = { enabled: false, frequency: 'daily' as BackupFrequency, weekday: null, windowStartHour: 2, windowHours: 4 };

/** Staff settings for backups (`GET/PUT /admin/settings/backups`). */
export interface BackupSettingsView {
  /** Backups of a deleted server are kept this many days, then removed (0: removed with the server). */
  deletedServerGraceDays: number;
  /**
   * How many backups one chain may hold (the full one and its incrementals) before a new full chain starts; 1 = every
   * backup full. Always answered; a PUT without it keeps what is stored.
   */
  incrementalChainMax?: number;
}
export const BACKUP_GRACE_DAYS_DEFAULT = 7;
/**
 * How many backups one chain may hold (the full one and its incrementals) before the next backup starts a new full
 * chain; staff may set 1 (every backup full) to 30 (`incrementalChainMax` in the backup settings).
 */
export const BACKUP_INCREMENTAL_CHAIN_DEFAULT = 7;
export const BACKUP_INCREMENTAL_CHAIN_MAX = 30;
export const BACKUP_GRACE_DAYS_MAX = 365;

export const BACKUP_STATES = ['pending', 'running', 'ready', 'failed', 'deleting'] as const;
export type BackupState = (typeof BACKUP_STATES)[number];
export const BACKUP_TRIGGERS = ['manual', 'scheduled'] as const;
export type BackupTrigger = (typeof BACKUP_TRIGGERS)[number];
/**
 * `full`: the whole disk; `incremental`: only the clusters changed since its parent's libvirt checkpoint (a sparse qcow2
 * whose restore needs the whole chain: the full and every incremental up to it).
 */
export const BACKUP_KINDS = ['full', 'incremental'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** One backup of a server, as its tenant sees it (`GET /servers/:id/backups`); kept after the server is deleted. */
export interface BackupView {
  id: string;
  serverId: string;
  /** The server's name when the backup was taken (the server may be gone). */
  serverName: string;
  storeId: string;
  /** `pending` until its node starts, `running` while it copies, `ready`, `failed` (see `error`), `deleting`. */
  state: BackupState;
  kind: BackupKind;
  /** The backup an incremental holds the changes since (null for a full one). */
  parentId: string | null;
  /** Why a full backup started a new chain where an incremental could have followed (null otherwise). */
  fullReason: string | null;
  trigger: BackupTrigger;
  /** Size of the backup file on the store (0 until ready). */
  sizeBytes: number;
  /** The disk's size as the guest saw it: a plan for a restore into a new server needs at least this disk. */
  virtualSizeBytes: number;
  /** SHA-256 of the backup file, checked again before a restore (null until ready). */
  sha256: string | null;
  /** How long the backup took, from the node's start to the file renamed on the store (null until it ended). */
  durationMs: number | null;
  /** Why it failed (null unless failed). */
  error: string | null;
  /** The task that made it (progress shows there). */
  taskId: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/**
 * One of the tenant's backups across its servers (`GET /backups`), also of a deleted server: restorable into a new
 * server (`POST /backups/:id/restore-to-new`) until `graceExpiresAt`, when the scheduler deletes it.
 */
export interface TenantBackupView extends BackupView {
  serverDeleted: boolean;
  /** A deleted server's backup goes at this time (its deletion plus the staff's grace days); null for a live server's. */
  graceExpiresAt: string | null;
  /** The location of the backup's store: a restore into a new server lands there. */
  locationId: string;
}

/**
 * Staff (`GET /admin/backups/not-started`): a live server whose scheduled backup could not start in its last window
 * (no backup store, the server busy or suspended, ...). Such a window has no task, so it is not among the failed
 * tasks; the scheduler keeps the reason until the next window is claimed.
 */
export interface NotStartedBackupView {
  serverId: string;
  hostname: string;
  /** The server's state now. */
  serverState: string;
  tenantId: string;
  tenantName: string;
  nodeId: string | null;
  nodeName: string | null;
  locationName: string;
  /** The window that was claimed and could not start a backup (its opening). */
  windowAt: string;
  /** When the next window opens: the backup is tried again then. */
  nextWindowAt: string;
  /** Why it could not start, as the scheduler was told. */
  reason: string;
}
