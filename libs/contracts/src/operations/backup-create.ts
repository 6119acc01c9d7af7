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
export const BackupRefSchema = z.object({
  id: z.uuid(),
  /** The server the backup was taken of (it may have been deleted since; the file lives under its id). */
  serverId: z.uuid(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/).optional(),
});
export type BackupRef = z.infer<typeof BackupRefSchema>;

/** The file of a backup on its store, relative to nothing: ids only, so it needs no quoting anywhere. */
export function backupFilePath(store: Pick<BackupStoreRef, 'basePath'>, backup: Pick<BackupRef, 'id' | 'serverId'>): string {
  return `${store.basePath.replace(/\/+$/, '')}/${backup.serverId}/${backup.id}.qcow2`;
}

export const BackupCreateCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.BackupCreate), store: BackupStoreRefSchema, backup: BackupRefSchema });

/**
 * A full backup of the server's disk while it runs (or is stopped or paused): libvirt's push mode
 * (`virsh backup-begin` to a qcow2 staged on the node), then copied to the store over ssh with the node's own key,
 * hashed on the way, written as `<id>.qcow2.tmp` and renamed only when complete; the staged file is removed in any
 * case. The result's output: `bytes` (the backup file's size), `sha256`, `durationMs`.
 */
export const backupCreateOperation = defineOperation({
  op: TaskOp.BackupCreate,
  audience: 'customer',
  command: BackupCreateCommandSchema,
  rule: { from: ['running', 'stopped', 'paused'], running: 'backing_up', success: 'previous', failure: 'previous' },
  summary: 'Back up the server\'s disk to the location\'s backup store',
});
