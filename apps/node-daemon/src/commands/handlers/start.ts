import { DomainState } from '@oblako/contracts';
import { requireDomain, startDomain, type CommandHandler } from './handler.js';

/** Power on; a running server is left as it is. */
export const startHandler: CommandHandler<'start'> = {
  op: 'start',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    if (state === DomainState.Running) return;
    await startDomain(ctx, cmd.serverId, 50);
  },
};
