import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

/**
 * A snapshot's id on the node: the API's snapshot id. The node names the libvirt snapshot `s-<id>` (an internal
 * qcow2 snapshot in the server's overlay; with the guest's memory when it runs or is paused).
 */
export const SnapshotRefSchema = z.object({ id: z.uuid() });

export const SnapshotCreateCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.SnapshotCreate), snapshot: SnapshotRefSchema });

/**
 * Take a snapshot of the server, running, paused or stopped (the guest's filesystems are frozen through its agent
 * first when one answers). The result's `output.bytes` is what the snapshot added to the overlay on the node.
 */
export const snapshotCreateOperation = defineOperation({
  op: TaskOp.SnapshotCreate,
  audience: 'customer',
  command: SnapshotCreateCommandSchema,
  rule: { from: ['running', 'stopped', 'paused'], running: 'snapshotting', success: 'previous', failure: 'previous' },
  summary: 'Take a snapshot of the server (disk, and memory when it runs)',
});
