import { DomainState } from '@oblako/contracts';
import { domainName } from '../../naming.js';
import { CommandFailure, FailureCode, requireDomain, type CommandHandler } from './handler.js';

/** Let a paused guest run on from where it was frozen; a running one is left as it is. */
export const resumeHandler: CommandHandler<'resume'> = {
  op: 'resume',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    if (state === DomainState.Running) return;
    if (state !== DomainState.Paused) throw new CommandFailure(FailureCode.NotPaused, `server ${cmd.serverId} is ${state}, not paused; start it instead`);
    await ctx.rec.step('resume', () => ctx.hv.resume(domainName(cmd.serverId)), { hypervisor: true, progress: 50 });
  },
};
