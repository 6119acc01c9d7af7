import { requireDomain, requireOwnSpec, startDomain, stopDomain, type CommandHandler } from './handler.js';

/**
 * Boot into the rescue system: stop the guest (gracefully), define the domain with a fresh rescue disk first, the
 * server's own disk second, the same seed and tap (so the same addresses), boot the node's kernel. Repeating it
 * converges on a server in rescue (with a clean rescue disk).
 */
export const rescueHandler: CommandHandler<'rescue'> = {
  op: 'rescue',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    await requireDomain(ctx, cmd.serverId);
    await stopDomain(ctx, cmd.serverId, ctx.stopGraceSeconds, 20);
    const xml = await ctx.provisioner.setRescue(cmd.spec, true, ctx.rec);
    await ctx.rec.step('define', () => ctx.hv.define(xml), { hypervisor: true, progress: 70 });
    await startDomain(ctx, cmd.serverId, 90);
  },
  timeoutMs: (_cmd, ctx) => (ctx.stopGraceSeconds + 120) * 1000,
};
