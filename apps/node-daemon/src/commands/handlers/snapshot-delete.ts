import { domainName, snapshotName } from '../../naming.js';
import { requireDomain, type CommandHandler } from './handler.js';

/**
 * Delete an internal snapshot; the disk keeps its current contents. With internal snapshots libvirt 9.0 deletes
 * any of them, a parent of the current one included (the limit on deletes after a revert is external snapshots').
 * A snapshot the node does not have is already deleted. The overlay does not shrink: qcow2 reuses the freed
 * clusters for later writes.
 */
export const snapshotDeleteHandler: CommandHandler<'snapshot_delete'> = {
  op: 'snapshot_delete',
  async run(cmd, ctx) {
    await requireDomain(ctx, cmd.serverId);
    await ctx.rec.step('snapshot-delete', () => ctx.hv.snapshotDelete(domainName(cmd.serverId), snapshotName(cmd.snapshot.id)), { hypervisor: true, progress: 50 });
    return { diskBytes: await ctx.provisioner.diskBytes(cmd.serverId) };
  },
  timeoutMs: () => 30 * 60 * 1000,
};
