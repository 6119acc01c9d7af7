import { DomainState } from '@oblako/contracts';
import { requireDomain, startDomain, stopDomain, type CommandHandler } from './handler.js';

/** Cold reboot: the binding has no reboot call, so shut down (destroy after the grace) and start. */
export const rebootHandler: CommandHandler<'reboot'> = {
  op: 'reboot',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    if (state !== DomainState.ShutOff && state !== DomainState.Crashed) await stopDomain(ctx, cmd.serverId, ctx.stopGraceSeconds, 30);
    await startDomain(ctx, cmd.serverId, 70);
  },
  timeoutMs: (_cmd, ctx) => (ctx.stopGraceSeconds + 60) * 1000,
};
