import { PlanEntity } from '../catalogue/catalogue.entities.js';
import { SnapshotEntity } from '../snapshots/snapshot.entity.js';
import { SnapshotError } from '../snapshots/snapshots.errors.js';
import { adjustNodeDisk, nodeHasDisk, reservedGiBFor } from '../snapshots/snapshot-space.js';
import { followPlan, type ApiOperation, type Next, type Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface SnapshotCreateInput {
  /** The new snapshot's id (the service picks it, so it can answer with the row). */
  id: string;
  name: string;
  expiresAt: Date | null;
}

/**
 * Take a snapshot on the server's node. The plan's `maxSnapshots` bounds how many a server keeps; the node must have
 * 1 GiB of disk free. The row is `creating` until the node answers; then it holds the bytes the snapshot took
 * (whole GiB of them counted in the node's used disk) and is `ready`. A failure removes the row.
 */
export const snapshotCreateOperation: ApiOperation<SnapshotCreateInput> = {
  op: 'snapshot_create',
  async plan(ctx): Promise<Plan> {
    const { m, server, input } = ctx;
    const plan = await m.findOneBy(PlanEntity, { id: server.planId });
    const max = plan?.maxSnapshots ?? 0;
    const count = await m.countBy(SnapshotEntity, { serverId: server.id });
    if (count >= max) {
      throw new SnapshotError('snapshot_limit', `The server's plan allows ${max} snapshot${max === 1 ? '' : 's'}; it has ${count}. Delete one first.`);
    }
    const steps = await onItsNode<SnapshotCreateInput>('snapshot_create', () => ({ snapshot: { id: input.id } }))(ctx);
    if (!(await nodeHasDisk(m, server.nodeId!, 1))) {
      throw new SnapshotError('node_disk_full', 'The server\'s node has no disk space left for a snapshot; please contact support.');
    }
    await m.insert(SnapshotEntity, {
      id: input.id, tenantId: server.tenantId, serverId: server.id, nodeId: server.nodeId!, name: input.name, state: 'creating',
      withMemory: server.state === 'running' || server.state === 'paused', sizeBytes: 0, reservedGiB: 0, expiresAt: input.expiresAt,
    });
    return { ...steps, audit: { snapshotId: input.id, name: input.name } };
  },
  async onResult(ctx): Promise<Next> {
    const { m, server, result } = ctx;
    if (result.ok) {
      const bytes = typeof result.output?.['bytes'] === 'number' ? result.output['bytes'] : 0;
      const snap = await m.findOneBy(SnapshotEntity, { serverId: server.id, state: 'creating' });
      if (snap) {
        const gib = reservedGiBFor(bytes);
        await m.update(SnapshotEntity, { id: snap.id }, { state: 'ready', sizeBytes: bytes, reservedGiB: gib });
        await adjustNodeDisk(m, snap.nodeId, gib);
      }
    }
    return followPlan(ctx);
  },
  async onEnd({ m, server, ok }): Promise<void> {
    if (!ok) await m.delete(SnapshotEntity, { serverId: server.id, state: 'creating' });
  },
};
