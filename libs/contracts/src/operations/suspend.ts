import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const SuspendCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Suspend), graceSeconds: z.number().int().min(0).max(3600).default(30) });

/** Billing or staff: the node powers the server off and the customer cannot start it until unsuspended. */
export const suspendOperation = defineOperation({
  op: TaskOp.Suspend,
  audience: 'system',
  command: SuspendCommandSchema,
  rule: { from: ['running', 'paused', 'stopped'], running: 'suspended', success: 'suspended', failure: 'previous' },
  summary: 'Power the server off and hold it (billing or staff)',
});
