import type { Address, ServerSpec } from '@oblako/contracts';
import type { EntityManager } from 'typeorm';
import { ImageEntity, PlanEntity } from '../catalogue/catalogue.entities.js';
import type { SshKeyEntity } from '../ssh-keys/ssh-key.entity.js';
import type { ServerEntity } from '../servers/server.entities.js';
import { ServerError } from '../servers/servers.errors.js';
import type { OperationDeps } from './operation.js';

/** The plan's rate, or the over-quota rate while the server is throttled (whichever is lower; 0 = unlimited). */
export function effectiveNetMbit(planMbit: number, throttleMbit: number): number {
  if (throttleMbit <= 0) return planMbit;
  return planMbit > 0 ? Math.min(planMbit, throttleMbit) : throttleMbit;
}

/** What the node needs to build (rebuild, resize) the server: the contract's ServerSpec. */
export function specFor(server: ServerEntity, plan: PlanEntity, image: ImageEntity, keys: readonly SshKeyEntity[], addresses: readonly Address[]): ServerSpec {
  return {
    serverId: server.id,
    hostname: server.hostname,
    vcpus: server.vcpus,
    memoryMiB: server.memoryMiB,
    diskGiB: server.diskGiB,
    cpuQuotaPercent: plan.cpuQuotaPercent,
    cpuShares: 1024,
    diskIops: plan.diskIops,
    diskMBps: plan.diskMBps,
    netMbit: effectiveNetMbit(plan.netMbit, server.throttleMbit ?? 0),
    image: { id: image.id, name: image.name, url: image.url, sha256: image.sha256, format: image.format, cloudInit: 'nocloud', ...(image.bootMode ? { bootMode: image.bootMode } : {}), ...(image.defaultUser ? { defaultUser: image.defaultUser } : {}) },
    addresses: [...addresses],
    sshKeys: keys.map((k) => k.publicKey),
    ...(server.rootPasswordHash ? { rootPasswordHash: server.rootPasswordHash } : {}),
  };
}

/**
 * The spec of a server that exists, read in the caller's transaction: its plan (or `planId`), its image (or
 * `imageId`, which must be active), its SSH keys and its addresses.
 */
export async function loadSpec(m: EntityManager, deps: OperationDeps, server: ServerEntity, opts: { imageId?: string; planId?: string } = {}): Promise<{ spec: ServerSpec; image: ImageEntity; plan: PlanEntity }> {
  const imageId = opts.imageId ?? server.imageId;
  const [image, plan, keys, addresses] = await Promise.all([
    m.findOneBy(ImageEntity, { id: imageId, active: true }),
    m.findOneByOrFail(PlanEntity, { id: opts.planId ?? server.planId }),
    deps.sshKeys.requireOwned(m, server.tenantId, server.sshKeyIds),
    deps.ips.addressesOf(m, [server.id]).then((a) => a.get(server.id) ?? []),
  ]);
  if (!image) throw new ServerError('image_not_found', `No active image with id ${imageId}; pick one from GET /api/v1/images.`);
  return { spec: specFor(server, plan, image, keys, addresses), image, plan };
}
