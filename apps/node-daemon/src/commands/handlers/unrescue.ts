import { requireDomain, requireOwnSpec, startDomain, stopDomain, type CommandHandler } from './handler.js';

/** Leave rescue: stop the rescue system, define the domain as it normally is (its own disk first), drop the rescue disk, boot. */
export const unrescueHandler: CommandHandler<'unrescue'> = {
  op: 'unrescue',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    await requireDomain(ctx, cmd.serverId);
    await stopDomain(ctx, cmd.serverId, ctx.stopGraceSeconds, 20);
    const xml = await ctx.provisioner.setRescue(cmd.spec, false, ctx.rec);
    await ctx.rec.step('define', () => ctx.hv.define(xml), { hypervisor: true, progress: 70 });
    await startDomain(ctx, cmd.serverId, 90);
  },
  timeoutMs: (_cmd, ctx) => (ctx.stopGraceSeconds + 120) * 1000,
};
