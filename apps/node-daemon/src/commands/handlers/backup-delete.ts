import { backupEngineOf } from './backup-create.js';
import type { CommandHandler } from './handler.js';

/** Remove a backup's file (and any `.tmp` of it) from its store; a file already gone is no error. */
export const backupDeleteHandler: CommandHandler<'backup_delete'> = {
  op: 'backup_delete',
  async run(cmd, ctx) {
    await backupEngineOf(ctx).remove(cmd.store, cmd.backup, ctx.rec);
  },
  timeoutMs: () => 10 * 60_000,
};
