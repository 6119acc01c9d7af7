import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const RebootCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Reboot) });

export const rebootOperation = defineOperation({
  op: TaskOp.Reboot,
  audience: 'customer',
  command: RebootCommandSchema,
  rule: { from: ['running'], running: 'rebooting', success: 'running', failure: 'previous' },
  summary: 'Restart the guest (shut down, then start)',
});
