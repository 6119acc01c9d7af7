import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, ServerSpecSchema } from '../command-parts.js';
import { defineOperation } from './operation.js';

/** Take the ISO out and boot from the disk again: a running server restarts from its disk, a stopped one stays stopped. */
export const DetachIsoCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.DetachIso), spec: ServerSpecSchema });

export const detachIsoOperation = defineOperation({
  op: TaskOp.DetachIso,
  audience: 'customer',
  command: DetachIsoCommandSchema,
  rule: { from: ['running', 'stopped'], running: 'rebooting', success: 'previous', failure: 'previous' },
  summary: 'Detach the ISO; a running server restarts from its disk',
});
