import { CommandFailure, FailureCode, requireDomain, type CommandHandler, type HandlerContext } from './handler.js';
import type { BackupEngine } from '../../backups/engine.js';

/** The node's backup engine, or a clear refusal where it has none (libvirt's test driver, a simulated node). */
export function backupEngineOf(ctx: HandlerContext): BackupEngine {
  if (!ctx.backups) throw new CommandFailure(FailureCode.NotSupported, 'this node takes no backups (it has no disk provisioning: OBLAKO_PROVISIONING is not "full")');
  return ctx.backups;
}

/**
 * A full backup of the server's disk to the command's store (push mode; see backups/engine.ts). Answers `bytes`,
 * `sha256` and `durationMs`; a failure leaves no file under the backup's name on the store and nothing staged here.
 */
export const backupCreateHandler: CommandHandler<'backup_create'> = {
  op: 'backup_create',
  async run(cmd, ctx) {
    const engine = backupEngineOf(ctx);
    if (cmd.backup.serverId !== cmd.serverId) throw new CommandFailure(FailureCode.InvalidCommand, `backup.serverId ${cmd.backup.serverId} differs from the command's serverId ${cmd.serverId}`);
    const state = await requireDomain(ctx, cmd.serverId);
    const r = await engine.backup(cmd.store, cmd.backup, state, ctx.rec);
    return { bytes: r.bytes, bytesMoved: r.bytes, sha256: r.sha256, durationMs: r.durationMs, virtualBytes: r.virtualBytes };
  },
  timeoutMs: () => 6 * 3600_000,
};
