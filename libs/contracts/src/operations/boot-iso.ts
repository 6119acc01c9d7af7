import { z } from 'zod';
import { TaskOp } from '../enums.js';
import { commandBase, IsoRefSchema, ServerSpecSchema } from '../command-parts.js';
import { defineOperation } from './operation.js';

/**
 * Attach an ISO from the provider's library as the server's CD-ROM and boot from it: the node fetches
 * and verifies the ISO once (cached by checksum), redefines the domain with the CD-ROM first in the boot
 * order, and restarts it. The ISO stays attached (every start boots it) until `detach_iso`.
 */
export const BootIsoCommandSchema = z.object({ ...commandBase, op: z.literal(TaskOp.BootIso), spec: ServerSpecSchema, iso: IsoRefSchema });

export const bootIsoOperation = defineOperation({
  op: TaskOp.BootIso,
  audience: 'customer',
  command: BootIsoCommandSchema,
  rule: { from: ['running', 'stopped'], running: 'rebooting', success: 'running', failure: 'previous' },
  summary: 'Attach an ISO from the library and boot from it (use the VNC console)',
});
