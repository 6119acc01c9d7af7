import { DomainState } from '@oblako/contracts';
import { requireDomain, startDomain, type CommandHandler } from './handler.js';

/** Lift a hold: start the server again (`start`), or only check that its domain is still here. */
export const unsuspendHandler: CommandHandler<'unsuspend'> = {
  op: 'unsuspend',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    if (!cmd.start || state === DomainState.Running) return;
    await startDomain(ctx, cmd.serverId, 50);
  },
};
