import { DomainState } from '@oblako/contracts';
import { requireDomain, requireOwnSpec, startDomain, stopDomain, type CommandHandler } from './handler.js';

/**
 * Attach the ISO (fetched and verified once per node) as the boot CD-ROM and boot from it: the domain is
 * redefined with the CD-ROM first and restarted (gracefully stopped first when it runs). Repeating it
 * converges: the same ISO stays attached and the server runs.
 */
export const bootIsoHandler: CommandHandler<'boot_iso'> = {
  op: 'boot_iso',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    const state = await requireDomain(ctx, cmd.serverId);
    const xml = await ctx.provisioner.setIso(cmd.spec, cmd.iso, ctx.rec);
    if (state === DomainState.Running || state === DomainState.Paused) await stopDomain(ctx, cmd.serverId, ctx.stopGraceSeconds, 50);
    await ctx.rec.step('define', () => ctx.hv.define(xml), { hypervisor: true, progress: 70 });
    await startDomain(ctx, cmd.serverId, 90);
  },
  // the first boot of an ISO on this node downloads it
  timeoutMs: (_cmd, ctx) => (ctx.stopGraceSeconds + 30 * 60) * 1000,
};
