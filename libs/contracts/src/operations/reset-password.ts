import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase } from '../command-parts.js';
import { defineOperation } from './operation.js';

/**
 * Set a user's password inside the running guest through its QEMU guest agent (`guest-set-user-password`,
 * crypted). The API sends only the SHA-512 crypt hash; the clear password never leaves the API.
 */
export const ResetPasswordCommandSchema = z.object({
  ...commandBase,
  op: z.literal(TaskOp.ResetPassword),
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
  passwordHash: z.string().regex(/^\$6\$(rounds=\d{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/),
});

/** The server keeps running throughout; a guest without an agent fails the task with `agent_unavailable`. */
export const resetPasswordOperation = defineOperation({
  op: TaskOp.ResetPassword,
  audience: 'customer',
  command: ResetPasswordCommandSchema,
  rule: { from: ['running'], running: 'running', success: 'running', failure: 'running' },
  summary: 'Set a new root password in the running guest through its guest agent',
});
