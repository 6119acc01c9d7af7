import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, ServerSpecSchema } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const RebuildCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Rebuild), spec: ServerSpecSchema });

/** The disk is replaced from the image; a half-done rebuild leaves nothing usable, so a failure is `error`. */
export const rebuildOperation = defineOperation({
  op: TaskOp.Rebuild,
  audience: 'customer',
  command: RebuildCommandSchema,
  rule: { from: ['running', 'stopped', 'error'], running: 'rebuilding', success: 'running', failure: 'error' },
  summary: 'Reinstall from an image, keeping addresses and SSH keys',
});
