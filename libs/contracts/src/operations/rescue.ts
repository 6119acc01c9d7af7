import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, ServerSpecSchema } from '../command-parts.js';
import { defineOperation } from './operation.js';

/**
 * Boot the server into the node's rescue system (the node's direct kernel and its rescue image as the first disk),
 * with the server's own disk attached as another disk and its own seed, tap and addresses: the customer reaches it
 * where the server always answers and repairs or copies its disk. It stays in rescue (every start boots the rescue
 * system) until `unrescue`.
 */
export const RescueCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Rescue), spec: ServerSpecSchema });

export const rescueOperation = defineOperation({
  op: TaskOp.Rescue,
  audience: 'customer',
  command: RescueCommandSchema,
  rule: { from: ['running', 'stopped'], running: 'rescuing', success: 'rescue', failure: 'previous' },
  summary: 'Boot into the rescue system with the server\'s own disk attached as a second disk',
});
