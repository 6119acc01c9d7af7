import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const UnsuspendCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Unsuspend), start: z.boolean().default(true) });

/** Lift a hold: the server starts again, or, if it was stopped when it was held, stays stopped (`start: false`). */
export const unsuspendOperation = defineOperation({
  op: TaskOp.Unsuspend,
  audience: 'system',
  command: UnsuspendCommandSchema,
  rule: { from: ['suspended'], running: 'starting', success: 'running', failure: 'previous', alsoEnds: ['stopped'] },
  summary: 'Lift a hold and start the server again',
});
