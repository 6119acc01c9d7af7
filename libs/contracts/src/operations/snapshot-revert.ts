import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { SnapshotRefSchema } from './snapshot-create.js';
import { defineOperation } from './operation.js';

export const SnapshotRevertCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.SnapshotRevert), snapshot: SnapshotRefSchema });

/**
 * Put the server back to a snapshot: its disk, and its memory when the snapshot was taken of a running or paused
 * guest, which then runs (or is paused) again from that moment. A snapshot of a stopped server leaves it stopped.
 * The server ends in the state the node reports after the revert.
 */
export const snapshotRevertOperation = defineOperation({
  op: TaskOp.SnapshotRevert,
  audience: 'customer',
  command: SnapshotRevertCommandSchema,
  rule: { from: ['running', 'stopped', 'paused'], running: 'snapshotting', success: 'previous', failure: 'previous', alsoEnds: ['running', 'stopped', 'paused'] },
  summary: 'Revert the server to one of its snapshots',
});
