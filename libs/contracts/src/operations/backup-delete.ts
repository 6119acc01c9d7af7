import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { BackupRefSchema, BackupStoreRefSchema } from './backup-create.js';
import { defineOperation } from './operation.js';

export const BackupDeleteCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.BackupDelete), store: BackupStoreRefSchema, backup: BackupRefSchema });

/** Remove a backup's file (and any `.tmp` left of it) from its store, through the server's node. Repeating it is harmless. */
export const backupDeleteOperation = defineOperation({
  op: TaskOp.BackupDelete,
  audience: 'customer',
  command: BackupDeleteCommandSchema,
  rule: { from: ['running', 'stopped', 'paused'], running: 'backing_up', success: 'previous', failure: 'previous' },
  summary: 'Delete one of the server\'s backups from its store',
});
