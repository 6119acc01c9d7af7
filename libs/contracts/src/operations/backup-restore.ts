import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { BackupRefSchema, BackupStoreRefSchema } from './backup-create.js';
import { defineOperation } from './operation.js';

export const BackupRestoreCommandSchema = z.object({
  ...commandBase,
  op: z.literal(TaskOp.BackupRestore),
  store: BackupStoreRefSchema,
  backup: BackupRefSchema.required({ sha256: true }),
  /** Start the server again once its disk is replaced (it was running when the restore was asked for). */
  startAfter: z.boolean(),
});

/**
 * Restore a backup in place: the backup is fetched from the store and its SHA-256 checked first; only then is the
 * server stopped and its disk replaced (addresses, identity and seed kept), and started again when it was running.
 * The server ends as the node reports its domain.
 */
export const backupRestoreOperation = defineOperation({
  op: TaskOp.BackupRestore,
  audience: 'customer',
  command: BackupRestoreCommandSchema,
  rule: { from: ['running', 'stopped'], running: 'restoring', success: 'previous', failure: 'previous', alsoEnds: ['running', 'stopped'] },
  summary: 'Replace the server\'s disk with one of its backups',
});
