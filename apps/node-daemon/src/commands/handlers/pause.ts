import { DomainState } from '@oblako/contracts';
import { domainName } from '../../naming.js';
import { CommandFailure, FailureCode, requireDomain, type CommandHandler } from './handler.js';

/** Freeze a running guest in memory (libvirt suspend); a paused one stays paused (a redelivery converges). */
export const pauseHandler: CommandHandler<'pause'> = {
  op: 'pause',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    if (state === DomainState.Paused) return;
    if (state !== DomainState.Running) throw new CommandFailure(FailureCode.NotRunning, `server ${cmd.serverId} is ${state}, not running; only a running server can be paused`);
    await ctx.rec.step('pause', () => ctx.hv.pause(domainName(cmd.serverId)), { hypervisor: true, progress: 50 });
  },
};
