import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, ServerSpecSchema } from '../command-parts.js';
import { defineOperation } from './operation.js';

/** Build a new server on its node (disk, seed, network, domain) and start it. */
export const CreateCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Create), spec: ServerSpecSchema });

/**
 * An order is written straight into `provisioning` (billing off) or waits in `pending_payment` until it is paid.
 * A failed create leaves the server in `error` with the reason on its task.
 */
export const createOperation = defineOperation({
  op: TaskOp.Create,
  audience: 'system',
  command: CreateCommandSchema,
  rule: { from: ['pending_payment'], running: 'provisioning', success: 'running', failure: 'error' },
  summary: 'Build the server on its node and start it',
});
