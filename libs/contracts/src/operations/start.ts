import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const StartCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Start) });

export const startOperation = defineOperation({
  op: TaskOp.Start,
  audience: 'customer',
  command: StartCommandSchema,
  rule: { from: ['stopped', 'error'], running: 'starting', success: 'running', failure: 'previous' },
  summary: 'Power the server on',
});
