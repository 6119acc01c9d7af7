import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { SnapshotRefSchema } from './snapshot-create.js';
import { defineOperation } from './operation.js';

export const SnapshotDeleteCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.SnapshotDelete), snapshot: SnapshotRefSchema });

/** Delete one snapshot (the server's disk keeps what it has now); deleting one the node no longer has succeeds. */
export const snapshotDeleteOperation = defineOperation({
  op: TaskOp.SnapshotDelete,
  audience: 'customer',
  command: SnapshotDeleteCommandSchema,
  rule: { from: ['running', 'stopped', 'paused'], running: 'snapshotting', success: 'previous', failure: 'previous' },
  summary: 'Delete one of the server\'s snapshots',
});
