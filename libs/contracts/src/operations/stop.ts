import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const StopCommandSchema = z.object({
  ...commandBase,
  op: z.literal(TaskOp.Stop),
  /** Seconds to wait for an ACPI shutdown before the domain is destroyed. */
  graceSeconds: z.number().int().min(0).max(3600).default(60),
});

export const stopOperation = defineOperation({
  op: TaskOp.Stop,
  audience: 'customer',
  command: StopCommandSchema,
  rule: { from: ['running', 'paused', 'error'], running: 'stopping', success: 'stopped', failure: 'previous' },
  summary: 'Shut the guest down (ACPI, then power off after the grace period)',
});
