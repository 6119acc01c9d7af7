import { requireDomain, stopDomain, type CommandHandler } from './handler.js';

/** ACPI shutdown, destroyed after the command's grace; a stopped server stays stopped. */
export const stopHandler: CommandHandler<'stop'> = {
  op: 'stop',
  async run(cmd, ctx) {
    await requireDomain(ctx, cmd.serverId);
    await stopDomain(ctx, cmd.serverId, cmd.graceSeconds, 50);
  },
  // the grace, and a minute for the rest
  timeoutMs: (cmd) => (cmd.graceSeconds + 60) * 1000,
};
