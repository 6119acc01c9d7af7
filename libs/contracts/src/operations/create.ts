import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, ServerSpecSchema } from '../command-parts.js';
import { BackupRefSchema, BackupStoreRefSchema } from './backup-create.js';
import { defineOperation } from './operation.js';

/**
 * A new server made from a backup (restore into a new server, issue 12): its disk is the backup's file, fetched from
 * the store and checked (SHA-256, `qemu-img check`) before anything else is made, then grown to the plan's disk.
 */
export const CreateRestoreSchema = z.object({ store: BackupStoreRefSchema, backup: BackupRefSchema.required({ sha256: true }) });
export type CreateRestore = z.infer<typeof CreateRestoreSchema>;

/** Build a new server on its node (disk, seed, network, domain) and start it; with `restore`, its disk is a backup. */
export const CreateCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Create), spec: ServerSpecSchema, restore: CreateRestoreSchema.optional() });

/**
 * An order is written straight into `provisioning` (billing off) or waits in `pending_payment` until it is paid.
 * A failed create leaves the server in `error` with the reason on its task.
 */
export const createOperation = defineOperation({
  op: TaskOp.Create,
  audience: 'system',
  command: CreateCommandSchema,
  rule: { from: ['pending_payment'], running: 'provisioning', success: 'running', failure: 'error' },
  summary: 'Build the server on its node and start it',
});
