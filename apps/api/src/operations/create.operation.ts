import type { ImageEntity, PlanEntity } from '../catalogue/catalogue.entities.js';
import type { SshKeyEntity } from '../ssh-keys/ssh-key.entity.js';
import { restoreSourceOf } from '../backups/backup-refs.js';
import { ServerError } from '../servers/servers.errors.js';
import type { ApiOperation, Next, Plan, ResultContext, TimeoutContext } from './operation.js';
import { loadSpec, specFor } from './server-spec.js';

/** A create is placed at most this many times (the task's attempts) before it ends in `error` with the reason. */
export const CREATE_ATTEMPTS = 3;
/** Failures of a create that say nothing against the order itself: another node may well succeed. */
export const RETRYABLE_CREATE_ERRORS: readonly string[] = ['hypervisor_unreachable', 'hypervisor_error', 'host_error', 'timeout', 'libvirt_addon_missing'];

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
    const restore = await restoreSourceOf(m, server);
    return { steps: [{ nodeId, command: { spec: specFor(server, input.plan, input.image, input.keys, addresses), ...(restore ? { restore } : {}) } }] };
  },
  async onResult(ctx): Promise<Next> {
    const { result } = ctx;
    if (result.ok) return { kind: 'end', ok: true };
    const why = `${result.error?.code ?? 'failed'}: ${result.error?.message ?? 'the node reported a failure without details'}`;
    if (!RETRYABLE_CREATE_ERRORS.includes(result.error?.code ?? '')) return { kind: 'end', ok: false, error: why };
    return placeAgain(ctx, `the create failed on its node (${why})`);
  },
  async onTimeout(ctx): Promise<Next> {
    return placeAgain(
      ctx,
      ctx.nodeOffline
        ? 'node_offline: the node stopped sending heartbeats during the create'
        : `timeout: the node did not report on this create within ${ctx.timeoutSeconds} s`,
    );
  },
};

/**
 * Self-healing: place the create on another node, in the runner's transaction: the reservation moves from the old
 * node to the new one, the addresses (the location's) stay with the server, and the same spec goes out as the
 * next attempt. After {@link CREATE_ATTEMPTS} attempts, or with no other node to take it, the create ends in
 * `error` with the reason. The old node, if it comes back holding a domain for it, is told to destroy it.
 */
async function placeAgain(ctx: ResultContext | TimeoutContext, why: string): Promise<Next> {
  const { m, server, deps, task } = ctx;
  if (task.attempts >= CREATE_ATTEMPTS) return { kind: 'end', ok: false, error: `${why}; gave up after ${task.attempts} attempts` };
  const req = { vcpus: server.vcpus, memoryMiB: server.memoryMiB, diskGiB: server.diskGiB };
  const old = server.nodeId;
  let nodeId: string;
  try {
    nodeId = await deps.placement.reserve(m, server.locationId, req, old ? [old] : []);
  } catch (err) {
    if (err instanceof ServerError) return { kind: 'end', ok: false, error: `${why}; no other node could take it: ${err.message}` };
    throw err;
  }
  if (old) await deps.placement.release(m, old, req);
  server.nodeId = nodeId;
  const { spec } = await loadSpec(m, deps, server);
  const restore = await restoreSourceOf(m, server);
  return { kind: 'retry', step: { nodeId, command: { spec, ...(restore ? { restore } : {}) } }, reason: `${why}; placed again on another node (attempt ${task.attempts + 1} of ${CREATE_ATTEMPTS})` };
}
