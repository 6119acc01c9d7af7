import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { BACKUP_BASE_PATH_PATTERN, BACKUP_USERNAME_PATTERN } from '../backup-policy.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

/**
 * Where a node writes or reads a backup: an SFTP/SSH store (OpenSSH), reached with the node's own key pair. The
 * pinned `hostKey` (one known_hosts line) is the node's `UserKnownHostsFile` for it, with
 * `StrictHostKeyChecking=yes`. `basePath` has only `[A-Za-z0-9._/-]` (it goes into commands run on the store).
 */
export const BackupStoreRefSchema = z.object({
  id: z.uuid(),
  host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:_-]+$/).refine((h) => !h.startsWith('-'), 'host may not start with "-"'),
  port: z.number().int().min(1).max(65535),
  username: z.string().regex(BACKUP_USERNAME_PATTERN),
  basePath: z.string().min(2).max(255).regex(BACKUP_BASE_PATH_PATTERN),
  hostKey: z.string().min(10).max(16384).refine((l) => !/[\r\n]/.test(l), 'hostKey must be one line'),
});
export type BackupStoreRef = z.infer<typeof BackupStoreRefSchema>;

/**
 * One backup on a store: the file `<basePath>/<serverId>/<id>.qcow2` (names made of ids only). A restore checks the
 * file's SHA-256 against `sha256` before anything of the server is replaced.
 */
const backupLink = {
  id: z.uuid(),
  /** The server the backup was taken of (it may have been deleted since; the file lives under its id). */
  serverId: z.uuid(),
};
/** One backup of an incremental's chain, as a restore fetches it (its recorded SHA-256 is checked). */
export const BackupChainLinkSchema = z.object({ ...backupLink, sha256: z.string().regex(/^[a-f0-9]{64}$/) });
export type BackupChainLink = z.infer<typeof BackupChainLinkSchema>;
/** The longest chain a command may carry (the API starts a new full chain long before: `OBLAKO_BACKUP_CHAIN_MAX`). */
export const BACKUP_CHAIN_LINKS_MAX = 64;

export const BackupRefSchema = z.object({
  ...backupLink,
  sha256: z.string().regex(/^[a-f0-9]{64}$/).optional(),
  /**
   * For a restore of an incremental backup: the backups it builds on, oldest first (the full one, then each
   * incremental up to its direct parent). Absent or empty for a full backup.
   */
  parents: z.array(BackupChainLinkSchema).max(BACKUP_CHAIN_LINKS_MAX).optional(),
});
export type BackupRef = z.infer<typeof BackupRefSchema>;

/** The file of a backup on its store, relative to nothing: ids only, so it needs no quoting anywhere. */
export function backupFilePath(store: Pick<BackupStoreRef, 'basePath'>, backup: Pick<BackupRef, 'id' | 'serverId'>): string {
  return `${store.basePath.replace(/\/+$/, '')}/${backup.serverId}/${backup.id}.qcow2`;
}

export const BackupCreateCommandSchema = z.object({
  ...commandBase,
  op: z.literal(TaskOp.BackupCreate),
  store: BackupStoreRefSchema,
  backup: BackupRefSchema,
  /**
   * Make an incremental backup against this earlier backup of the server (its libvirt checkpoint on this node), when
   * the node still holds that checkpoint with a sound bitmap and the guest runs; otherwise the node makes a full one.
   * The result says which it made (`kind`, `parentBackupId`).
   */
  incrementalOf: z.uuid().optional(),
});

/**
 * A backup of the server's disk while it runs (or is stopped or paused): libvirt's push mode
 * (`virsh backup-begin` to a qcow2 staged on the node, with a checkpoint `oblako-<backup id>` when the guest runs), then
 * copied to the store over ssh with the node's own key, hashed on the way, written as `<id>.qcow2.tmp` and renamed only
 * when complete; the staged file is removed in any case. With `incrementalOf`, only the clusters changed since that
 * backup's checkpoint are written (when the node can). The result's output: `bytes` (the backup file's size), `sha256`,
 * `durationMs`, `virtualBytes`, `kind` (`full`/`incremental`), `parentBackupId` (an incremental's parent; absent for a full one) and,
 * when a requested incremental became a full one, `fullBecause` (why).
 */
export const backupCreateOperation = defineOperation({
  op: TaskOp.BackupCreate,
  audience: 'customer',
  command: BackupCreateCommandSchema,
  rule: { from: ['running', 'stopped', 'paused'], running: 'backing_up', success: 'previous', failure: 'previous' },
  summary: 'Back up the server\'s disk to the location\'s backup store',
});
