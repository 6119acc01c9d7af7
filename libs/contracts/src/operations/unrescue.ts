import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, ServerSpecSchema } from '../command-parts.js';
import { defineOperation } from './operation.js';

/** Leave the rescue system: the domain is defined as it was (its own disk first) and boots normally again. */
export const UnrescueCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Unrescue), spec: ServerSpecSchema });

export const unrescueOperation = defineOperation({
  op: TaskOp.Unrescue,
  audience: 'customer',
  command: UnrescueCommandSchema,
  rule: { from: ['rescue'], running: 'unrescuing', success: 'running', failure: 'rescue' },
  summary: 'Leave the rescue system and boot the server from its own disk again',
});
