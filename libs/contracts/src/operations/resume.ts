import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

/** Let a paused guest run on from where it was frozen. */
export const ResumeCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Resume) });

export const resumeOperation = defineOperation({
  op: TaskOp.Resume,
  audience: 'customer',
  command: ResumeCommandSchema,
  rule: { from: ['paused'], running: 'resuming', success: 'running', failure: 'previous' },
  summary: 'Let a paused guest run on',
});
