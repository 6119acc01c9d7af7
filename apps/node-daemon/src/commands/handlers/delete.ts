import { domainName } from '../../naming.js';
import type { CommandHandler } from './handler.js';

/** Remove the domain, then its disk, seed, tap and routes; a second delete finds nothing to remove. */
export const deleteHandler: CommandHandler<'delete'> = {
  op: 'delete',
  async run(cmd, ctx) {
    await ctx.rec.step('undefine', () => ctx.lifecycle.remove(domainName(cmd.serverId)), { hypervisor: true, progress: 30 });
    await ctx.provisioner.cleanup(cmd.serverId, cmd.addresses, ctx.rec);
  },
};
