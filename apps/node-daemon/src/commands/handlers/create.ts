import { DomainState } from '@oblako/contracts';
import { domainName } from '../../naming.js';
import { backupEngineOf } from './backup-create.js';
import { CommandFailure, FailureCode, requireOwnSpec, type CommandHandler } from './handler.js';

/** Build the server (disk, seed, network, domain) and start it; a second create finds its domain and only makes sure it runs. */
export const createHandler: CommandHandler<'create'> = {
  op: 'create',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    const name = domainName(cmd.serverId);
    let state = await ctx.rec.step('lookup', () => ctx.hv.state(name), { hypervisor: true, progress: 5 });
    if (state === DomainState.Missing) {
      // made from a backup: its disk first (fetched, checked, grown), so prepare() keeps it instead of a fresh overlay
      if (cmd.restore) {
        if (cmd.restore.backup.serverId === cmd.serverId) throw new CommandFailure(FailureCode.InvalidCommand, 'a new server cannot be restored from a backup of itself');
        await backupEngineOf(ctx).newDiskFrom(cmd.restore.store, cmd.restore.backup, cmd.serverId, cmd.spec.diskGiB, ctx.rec);
      }
      const xml = await ctx.provisioner.prepare(cmd.spec, ctx.rec);
      await ctx.rec.step('define', () => ctx.hv.define(xml), { hypervisor: true, progress: 80 });
      state = DomainState.ShutOff;
    } else {
      await ctx.provisioner.beforeStart(cmd.serverId, ctx.rec);
    }
    if (state !== DomainState.Running) {
      await ctx.rec.step('start', () => ctx.lifecycle.ensureRunning(name), { hypervisor: true, progress: 90 });
      await ctx.provisioner.afterStart(cmd.serverId, ctx.rec);
    }
  },
  /** A restore downloads the whole backup first; an ordinary create falls back to the executor's default. */
  timeoutMs: (cmd) => (cmd.restore ? 6 * 3600_000 : undefined),
};
