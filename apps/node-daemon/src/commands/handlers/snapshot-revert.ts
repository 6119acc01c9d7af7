import { domainName, snapshotName } from '../../naming.js';
import { CommandFailure, FailureCode, requireDomain, type CommandHandler } from './handler.js';

/**
 * Revert the domain to an internal snapshot: disk and memory; the guest runs (or is paused, or stays off) as it
 * was when the snapshot was taken. The tap and its rate limits are restored around a guest that comes back running.
 * Repeating a revert reverts again to the same point, which is what was asked.
 */
export const snapshotRevertHandler: CommandHandler<'snapshot_revert'> = {
  op: 'snapshot_revert',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    const name = domainName(cmd.serverId);
    const snap = snapshotName(cmd.snapshot.id);
    const known = await ctx.rec.step('snapshots', () => ctx.hv.snapshotNames(name), { hypervisor: true });
    if (!known.includes(snap)) {
      throw new CommandFailure(FailureCode.SnapshotMissing, `server ${cmd.serverId} has no snapshot ${cmd.snapshot.id} on this node`);
    }
    // QEMU refuses to load a snapshot into a disk with active dirty bitmaps ("Device has active dirty bitmaps", and the
    // domain is left off), and the reverted disk is not what they describe anyway: backup checkpoints go first (the
    // next backup is full)
    await ctx.backups?.forgetCheckpoints(cmd.serverId, state, ctx.rec);
    await ctx.provisioner.beforeStart(cmd.serverId, ctx.rec);
    await ctx.rec.step('revert', () => ctx.hv.snapshotRevert(name, snap), { hypervisor: true, progress: 60 });
    await ctx.provisioner.afterStart(cmd.serverId, ctx.rec);
    return { diskBytes: await ctx.provisioner.diskBytes(cmd.serverId) };
  },
  timeoutMs: () => 30 * 60 * 1000,
};
