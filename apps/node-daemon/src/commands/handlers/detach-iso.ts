import { DomainState } from '@oblako/contracts';
import { requireDomain, requireOwnSpec, startDomain, stopDomain, type CommandHandler } from './handler.js';

/** Take the CD-ROM out of the definition; a running server restarts from its disk, a stopped one stays stopped. */
export const detachIsoHandler: CommandHandler<'detach_iso'> = {
  op: 'detach_iso',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    const state = await requireDomain(ctx, cmd.serverId);
    const xml = await ctx.provisioner.setIso(cmd.spec, null, ctx.rec);
    const wasRunning = state === DomainState.Running || state === DomainState.Paused;
    if (wasRunning) await stopDomain(ctx, cmd.serverId, ctx.stopGraceSeconds, 40);
    await ctx.rec.step('define', () => ctx.hv.define(xml), { hypervisor: true, progress: 70 });
    if (wasRunning) await startDomain(ctx, cmd.serverId, 90);
  },
  timeoutMs: (_cmd, ctx) => (ctx.stopGraceSeconds + 120) * 1000,
};
