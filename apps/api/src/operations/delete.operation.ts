import { dropSnapshotsOf } from '../snapshots/snapshot-space.js';
import type { ApiOperation, Plan } from './operation.js';

/**
 * Delete on the server's node (domain, disk, seed, tap, routes); once the node confirms, the server's capacity and
 * addresses are given back. An order that was never placed (waiting for payment) holds nothing anywhere, so it is
 * deleted at once.
 */
export const deleteOperation: ApiOperation = {
  op: 'delete',
  async plan({ m, server, deps }): Promise<Plan> {
    if (!server.nodeId) return { done: 'deleted' };
    await deps.placement.requireReachable(m, server.nodeId, 'delete');
    const addresses = (await deps.ips.addressesOf(m, [server.id])).get(server.id) ?? [];
    return { steps: [{ nodeId: server.nodeId, command: { addresses } }] };
  },
  async onEnd({ m, server, deps, state }): Promise<void> {
    if (state !== 'deleted') return;
    if (server.nodeId) await deps.placement.release(m, server.nodeId, { vcpus: server.vcpus, memoryMiB: server.memoryMiB, diskGiB: server.diskGiB });
    await deps.ips.releaseForServer(m, server.id);
    await dropSnapshotsOf(m, server.id);
  },
};
