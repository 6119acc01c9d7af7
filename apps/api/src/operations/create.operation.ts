import type { ImageEntity, PlanEntity } from '../catalogue/catalogue.entities.js';
import type { SshKeyEntity } from '../ssh-keys/ssh-key.entity.js';
import type { ApiOperation, Plan } from './operation.js';
import { specFor } from './server-spec.js';

/** What the order already read (in the same transaction): no second look at the catalogue. */
export interface CreateInput {
  plan: PlanEntity;
  image: ImageEntity;
  keys: SshKeyEntity[];
}

/**
 * Place the server: reserve room on a node (placement, row locks) and its address, then build it there. The
 * reservation, the address, the task and the command commit together with the order, or not at all.
 */
export const createOperation: ApiOperation<CreateInput> = {
  op: 'create',
  async plan({ m, server, input, deps }): Promise<Plan> {
    const nodeId = await deps.placement.reserve(m, server.locationId, { vcpus: server.vcpus, memoryMiB: server.memoryMiB, diskGiB: server.diskGiB });
    const addresses = await deps.ips.allocateForServer(m, { locationId: server.locationId, serverId: server.id, tenantId: server.tenantId });
    server.nodeId = nodeId;
    return { steps: [{ nodeId, command: { spec: specFor(server, input.plan, input.image, input.keys, addresses) } }] };
  },
};
