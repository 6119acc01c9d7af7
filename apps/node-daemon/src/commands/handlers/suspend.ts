import { requireDomain, stopDomain, type CommandHandler } from './handler.js';

/** Billing/staff suspension powers the server off; the API keeps it from being started. */
export const suspendHandler: CommandHandler<'suspend'> = {
  op: 'suspend',
  async run(cmd, ctx) {
    await requireDomain(ctx, cmd.serverId);
    await stopDomain(ctx, cmd.serverId, cmd.graceSeconds, 50);
  },
  timeoutMs: (cmd) => (cmd.graceSeconds + 60) * 1000,
};
