import { rm } from 'node:fs/promises';
import { DomainState } from '@oblako/contracts';
import { backupEngineOf } from './backup-create.js';
import { requireDomain, startDomain, stopDomain, type CommandHandler } from './handler.js';

/**
 * Restore a backup in place: fetch it and check its SHA-256 first (a mismatch fails with nothing touched), then stop
 * the server, put the backup in place of its disk (seed, addresses and definition kept) and start it again when the
 * command says so. The staged download is removed in any case.
 */
export const backupRestoreHandler: CommandHandler<'backup_restore'> = {
  op: 'backup_restore',
  async run(cmd, ctx) {
    const engine = backupEngineOf(ctx);
    await requireDomain(ctx, cmd.serverId);
    const staged = await engine.fetch(cmd.store, cmd.backup, ctx.rec);
    try {
      if ((await requireDomain(ctx, cmd.serverId)) !== DomainState.ShutOff) await stopDomain(ctx, cmd.serverId, ctx.stopGraceSeconds, 60);
      // the replaced disk's checkpoints describe a disk that is gone: the next backup starts a new full chain
      await engine.forgetCheckpoints(cmd.serverId, DomainState.ShutOff, ctx.rec);
      await engine.replaceDisk(cmd.serverId, staged, ctx.rec);
      if (cmd.startAfter) await startDomain(ctx, cmd.serverId, 90);
    } finally {
      await rm(staged, { force: true });
    }
  },
  timeoutMs: () => 6 * 3600_000,
};
