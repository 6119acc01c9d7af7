import { SnapshotEntity } from '../snapshots/snapshot.entity.js';
import { SnapshotError } from '../snapshots/snapshots.errors.js';
import { adjustNodeDisk } from '../snapshots/snapshot-space.js';
import { followPlan, type ApiOperation, type Next, type Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface SnapshotDeleteInput {
  snapshotId: string;
}

/** Delete a ready snapshot on the server's node; once the node confirms, the row goes and its space is given back. */
export const snapshotDeleteOperation: ApiOperation<SnapshotDeleteInput> = {
  op: 'snapshot_delete',
  async plan(ctx): Promise<Plan> {
    const snap = await ctx.m.findOneBy(SnapshotEntity, { id: ctx.input.snapshotId, serverId: ctx.server.id });
    if (!snap) throw new SnapshotError('snapshot_not_found', 'No snapshot with that id on this server.');
    if (snap.state !== 'ready') throw new SnapshotError('snapshot_not_ready', `The snapshot is ${snap.state}; wait until it is ready.`);
    const steps = await onItsNode<SnapshotDeleteInput>('snapshot_delete', () => ({ snapshot: { id: snap.id } }))(ctx);
    await ctx.m.update(SnapshotEntity, { id: snap.id }, { state: 'deleting' });
    return { ...steps, audit: { snapshotId: snap.id, name: snap.name } };
  },
  async onResult(ctx): Promise<Next> {
    if (ctx.result.ok) {
      const snap = await ctx.m.findOneBy(SnapshotEntity, { serverId: ctx.server.id, state: 'deleting' });
      if (snap) {
        await adjustNodeDisk(ctx.m, snap.nodeId, -snap.reservedGiB);
        await ctx.m.delete(SnapshotEntity, { id: snap.id });
      }
    }
    return followPlan(ctx);
  },
  async onEnd({ m, server, ok }): Promise<void> {
    if (!ok) await m.update(SnapshotEntity, { serverId: server.id, state: 'deleting' }, { state: 'ready' });
  },
};
