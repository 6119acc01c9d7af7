import { DomainState } from '@oblako/contracts';
import { domainName } from '../../naming.js';
import { requireOwnSpec, startDomain, type CommandHandler } from './handler.js';

/** Rebuild from spec.image keeping the server's addresses; the server runs afterwards. */
export const rebuildHandler: CommandHandler<'rebuild'> = {
  op: 'rebuild',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    const name = domainName(cmd.serverId);
    const state = await ctx.rec.step('lookup', () => ctx.hv.state(name), { hypervisor: true, progress: 5 });
    if (state !== DomainState.Missing) {
      // The old disk is thrown away: no need to wait for a graceful shutdown.
      await ctx.rec.step('stop', () => ctx.lifecycle.stop(name, 0), { hypervisor: true, progress: 10 });
    }
    const xml = await ctx.provisioner.rebuild(cmd.spec, ctx.rec);
    await ctx.rec.step('define', () => ctx.hv.define(xml), { hypervisor: true, progress: 80 });
    await startDomain(ctx, cmd.serverId, 90);
  },
};
