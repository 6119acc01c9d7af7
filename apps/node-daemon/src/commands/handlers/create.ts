import { DomainState } from '@oblako/contracts';
import { domainName } from '../../naming.js';
import { requireOwnSpec, type CommandHandler } from './handler.js';

/** Build the server (disk, seed, network, domain) and start it; a second create finds its domain and only makes sure it runs. */
export const createHandler: CommandHandler<'create'> = {
  op: 'create',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    const name = domainName(cmd.serverId);
    let state = await ctx.rec.step('lookup', () => ctx.hv.state(name), { hypervisor: true, progress: 5 });
    if (state === DomainState.Missing) {
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
};
