import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { AddressSchema, commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

export const DeleteCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.Delete), addresses: z.array(AddressSchema).max(64).default([]) });

/** The domain, disk, seed, tap and routes go; capacity and addresses are given back when the node confirms. */
export const deleteOperation = defineOperation({
  op: TaskOp.Delete,
  audience: 'customer',
  command: DeleteCommandSchema,
  rule: {
    from: ['running', 'paused', 'stopped', 'error', 'suspended', 'pending_payment', 'provisioning', 'rescue'],
    running: 'deleting',
    success: 'deleted',
    failure: 'error',
  },
  summary: 'Delete the server and everything it holds on its node',
});
