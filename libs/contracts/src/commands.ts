import { z } from 'zod';
import type { TaskOp } from './enums.js';
import { OPERATIONS } from './operations/index.js';

export * from './command-parts.js';
export {
  CreateCommandSchema, StartCommandSchema, StopCommandSchema, RebootCommandSchema, RebuildCommandSchema, ResizeCommandSchema,
  SuspendCommandSchema, UnsuspendCommandSchema, PauseCommandSchema, ResumeCommandSchema, DeleteCommandSchema,
} from './operations/index.js';

/** Every command a node may receive: the union of the operations' command schemas (libs/contracts/src/operations). */
export const NodeCommandSchema = z.discriminatedUnion('op', [
  OPERATIONS.create.command,
  OPERATIONS.start.command,
  OPERATIONS.stop.command,
  OPERATIONS.reboot.command,
  OPERATIONS.rebuild.command,
  OPERATIONS.resize.command,
  OPERATIONS.suspend.command,
  OPERATIONS.unsuspend.command,
  OPERATIONS.pause.command,
  OPERATIONS.resume.command,
  OPERATIONS.delete.command,
  OPERATIONS.boot_iso.command,
  OPERATIONS.detach_iso.command,
  OPERATIONS.reset_password.command,
  OPERATIONS.snapshot_create.command,
  OPERATIONS.snapshot_revert.command,
  OPERATIONS.snapshot_delete.command,
  OPERATIONS.rescue.command,
  OPERATIONS.unrescue.command,
  OPERATIONS.throttle.command,
  OPERATIONS.backup_create.command,
  OPERATIONS.backup_restore.command,
  OPERATIONS.backup_delete.command,
]);
export type NodeCommand = z.infer<typeof NodeCommandSchema>;
export type NodeCommandInput = z.input<typeof NodeCommandSchema>;
export type CommandOf<Op extends TaskOp> = Extract<NodeCommand, { op: Op }>;

/** Parse bytes from the wire into a command, or say exactly what is wrong. */
export function parseNodeCommand(data: unknown): { ok: true; command: NodeCommand } | { ok: false; error: string } {
  const result = NodeCommandSchema.safeParse(data);
  if (result.success) return { ok: true, command: result.data };
  return { ok: false, error: z.prettifyError(result.error) };
}
