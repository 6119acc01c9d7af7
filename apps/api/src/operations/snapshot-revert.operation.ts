import type { ServerState } from '@oblako/contracts';
import { SnapshotEntity } from '../snapshots/snapshot.entity.js';
import { SnapshotError } from '../snapshots/snapshots.errors.js';
import { followPlan, type ApiOperation, type Next, type Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface SnapshotRevertInput {
  snapshotId: string;
}

/** Where a reverted server stands: as the node reports its domain after the revert. */
const AFTER_REVERT: Partial<Record<string, ServerState>> = { running: 'running', paused: 'paused', shutoff: 'stopped' };

/** Revert the server to a ready snapshot on its node; it ends running, paused or stopped as the snapshot was taken. */
export const snapshotRevertOperation: ApiOperation<SnapshotRevertInput> = {
  op: 'snapshot_revert',
  async plan(ctx): Promise<Plan> {
    const snap = await ctx.m.findOneBy(SnapshotEntity, { id: ctx.input.snapshotId, serverId: ctx.server.id });
    if (!snap) throw new SnapshotError('snapshot_not_found', 'No snapshot with that id on this server.');
    if (snap.state !== 'ready') throw new SnapshotError('snapshot_not_ready', `The snapshot is ${snap.state}; wait until it is ready.`);
    const steps = await onItsNode<SnapshotRevertInput>('snapshot_revert', () => ({ snapshot: { id: snap.id } }))(ctx);
    return { ...steps, audit: { snapshotId: snap.id, name: snap.name } };
  },
  async onResult(ctx): Promise<Next> {
    const next = followPlan(ctx);
    if (next.kind === 'end' && next.ok) {
      const state = AFTER_REVERT[ctx.result.domainState];
      if (state) return { ...next, state };
    }
    return next;
  },
};
