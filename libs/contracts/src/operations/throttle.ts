import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

/**
 * Set the rate of a running server's tap (both directions) to `netMbit` (0 = unlimited): the over-quota rate
 * when its traffic allowance is used up, the plan's rate again when it lifts. The node keeps the rate in the
 * server's record, so later starts apply it too.
 */
export const ThrottleCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Throttle), netMbit: z.number().int().min(0).max(10_000_000) });

export const throttleOperation = defineOperation({
  op: TaskOp.Throttle,
  audience: 'system',
  command: ThrottleCommandSchema,
  rule: { from: ['running'], running: 'running', success: 'running', failure: 'running' },
  summary: "Set the server's network rate (traffic quota used up, or lifted)",
});
