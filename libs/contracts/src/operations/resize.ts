import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, ServerSpecSchema } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const ResizeCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Resize), spec: ServerSpecSchema });

/** New vCPU, memory, disk (grows only) and limits; the server ends as it was (running or stopped), whatever the outcome. */
export const resizeOperation = defineOperation({
  op: TaskOp.Resize,
  audience: 'customer',
  command: ResizeCommandSchema,
  rule: { from: ['running', 'stopped'], running: 'resizing', success: 'previous', failure: 'previous' },
  summary: 'Move the server to another plan',
});
