import { DomainState } from '@oblako/contracts';
import { domainName } from '../../naming.js';
import { requireDomain, requireOwnSpec, startDomain, stopDomain, type CommandHandler } from './handler.js';

/** Cold resize: stop (graceful), grow the disk, redefine with the new vCPU/memory/limits, start again if it was running. */
export const resizeHandler: CommandHandler<'resize'> = {
  op: 'resize',
  async run(cmd, ctx) {
    requireOwnSpec(cmd);
    const name = domainName(cmd.serverId);
    const state = await requireDomain(ctx, cmd.serverId);
    const wasRunning = state === DomainState.Running || state === DomainState.Paused;
    if (wasRunning) await stopDomain(ctx, cmd.serverId, ctx.stopGraceSeconds, 20);
    try {
      const xml = await ctx.provisioner.resize(cmd.spec, ctx.rec);
      await ctx.rec.step('define', () => ctx.hv.define(xml), { hypervisor: true, progress: 70 });
    } catch (err) {
      // leave the server as it was: running with its old definition
      if (wasRunning) await ctx.lifecycle.ensureRunning(name).catch(() => undefined);
      throw err;
    }
    if (wasRunning) await startDomain(ctx, cmd.serverId, 90);
  },
  timeoutMs: (_cmd, ctx) => (ctx.stopGraceSeconds + 120) * 1000,
};
