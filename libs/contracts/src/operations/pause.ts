import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

/** Freeze the running guest in memory (libvirt suspend); nothing else changes. */
export const PauseCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Pause) });

export const pauseOperation = defineOperation({
  op: TaskOp.Pause,
  audience: 'customer',
  command: PauseCommandSchema,
  rule: { from: ['running'], running: 'pausing', success: 'paused', failure: 'previous' },
  summary: 'Freeze the guest in memory; it answers nothing until resumed',
});
