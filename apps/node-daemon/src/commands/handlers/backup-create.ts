import { CommandFailure, FailureCode, requireDomain, type CommandHandler, type HandlerContext } from './handler.js';
import type { BackupEngine } from '../../backups/engine.js';

/** The node's backup engine, or a clear refusal where it has none (libvirt's test driver, a simulated node). */
export function backupEngineOf(ctx: HandlerContext): BackupEngine {
  if (!ctx.backups) throw new CommandFailure(FailureCode.NotSupported, 'this node takes no backups (it has no disk provisioning: OBLAKO_PROVISIONING is not "full")');
  return ctx.backups;
}

/**
 * A backup of the server's disk to the command's store (push mode; see backups/engine.ts): incremental against
 * `incrementalOf` when this node can, else full. Answers `bytes`, `sha256`, `durationMs`, `kind` and `parentBackupId`
 * (and `fullBecause` when an incremental asked for became full); a failure leaves no file under the backup's name on
 * the store, no checkpoint of it and nothing staged here.
 */
export const backupCreateHandler: CommandHandler<'backup_create'> = {
  op: 'backup_create',
  async run(cmd, ctx) {
    const engine = backupEngineOf(ctx);
    if (cmd.backup.serverId !== cmd.serverId) throw new CommandFailure(FailureCode.InvalidCommand, `backup.serverId ${cmd.backup.serverId} differs from the command's serverId ${cmd.serverId}`);
    const state = await requireDomain(ctx, cmd.serverId);
    if (cmd.incrementalOf === cmd.backup.id) throw new CommandFailure(FailureCode.InvalidCommand, `backup ${cmd.backup.id} cannot be an incremental of itself`);
    const r = await engine.backup(cmd.store, cmd.backup, state, ctx.rec, cmd.incrementalOf);
    return {
      bytes: r.bytes, bytesMoved: r.bytes, sha256: r.sha256, durationMs: r.durationMs, virtualBytes: r.virtualBytes,
      kind: r.kind, ...(r.parentBackupId ? { parentBackupId: r.parentBackupId } : {}), ...(r.fullBecause ? { fullBecause: r.fullBecause } : {}),
    };
  },
  timeoutMs: () => 6 * 3600_000,
};
