import { domainName, snapshotName } from '../../naming.js';
import { requireDomain, type CommandHandler } from './handler.js';

/**
 * Take an internal snapshot in the server's qcow2 overlay (libvirt `snapshot-create-as --atomic`): the disk, and
 * the memory of a running or paused guest, so a revert brings back a consistent running system without the guest
 * agent's help (no fsfreeze: the memory holds what was not yet written). Repeating it keeps the one it took.
 * Answers the bytes the snapshot added to the overlay on this host (`output.bytes`), which the API counts
 * against the node's disk.
 */
export const snapshotCreateHandler: CommandHandler<'snapshot_create'> = {
  op: 'snapshot_create',
  async run(cmd, ctx) {
    await requireDomain(ctx, cmd.serverId);
    const name = domainName(cmd.serverId);
    const snap = snapshotName(cmd.snapshot.id);
    const before = await ctx.provisioner.diskBytes(cmd.serverId);
    await ctx.rec.step('snapshot', () => ctx.hv.snapshotCreate(name, snap), { hypervisor: true, progress: 50 });
    const after = await ctx.provisioner.diskBytes(cmd.serverId);
    return { bytes: Math.max(0, after - before), diskBytes: after };
  },
  timeoutMs: () => 30 * 60 * 1000,
};
