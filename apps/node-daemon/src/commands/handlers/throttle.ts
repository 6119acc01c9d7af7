import { DomainState } from '@oblako/contracts';
import { requireDomain, type CommandHandler } from './handler.js';

/**
 * Set the server's network rate (its record keeps it for later starts) and, when the guest runs, apply it to
 * the tap at once (tc: htb on the tap for traffic to the guest, ingress → ifb → htb for traffic from it).
 * Idempotent: the same rate twice leaves the same qdiscs.
 */
export const throttleHandler: CommandHandler<'throttle'> = {
  op: 'throttle',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    await ctx.provisioner.setRate(cmd.serverId, cmd.netMbit, state === DomainState.Running || state === DomainState.Paused, ctx.rec);
  },
  timeoutMs: () => 60_000,
};
