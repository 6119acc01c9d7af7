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
 * `imageId`), its SSH keys and its addresses. A deprecated image (`active: false`) still serves the servers made
 * from it (resize, rescue, ISO, a paid order); only new orders and rebuilds refuse it (`requireOfferable`).
 */
export async function loadSpec(m: EntityManager, deps: OperationDeps, server: ServerEntity, opts: { imageId?: string; planId?: string } = {}): Promise<{ spec: ServerSpec; image: ImageEntity; plan: PlanEntity }> {
  const imageId = opts.imageId ?? server.imageId;
  const [image, plan, keys, addresses] = await Promise.all([
    m.findOneBy(ImageEntity, { id: imageId }),
    m.findOneByOrFail(PlanEntity, { id: opts.planId ?? server.planId }),
    deps.sshKeys.requireOwned(m, server.tenantId, server.sshKeyIds),
    deps.ips.addressesOf(m, [server.id]).then((a) => a.get(server.id) ?? []),
  ]);
  if (!image) throw new ServerError('image_not_found', `No image with id ${imageId}; pick one from GET /api/v1/images.`, [{ field: 'imageId', problems: ['unknown image'] }]);
  return { spec: specFor(server, plan, image, keys, addresses), image, plan };
}

/**
 * A rebuild installs the image anew: it must be on offer (not deprecated) and, with REQUIRE_VERIFIED_IMAGES,
 * verified for its current sha256 on the server's own node (the node that will use it), else 409.
 */
export async function requireOfferable(m: EntityManager, deps: OperationDeps, server: ServerEntity, image: ImageEntity): Promise<void> {
  // FOR SHARE: a staff delete (FOR UPDATE, then it counts the image's servers) waits for this rebuild to commit and
  // refuses with image_in_use, or commits first and is read here (its tombstone) after the wait
  const [fresh]: { deleted: boolean; active: boolean }[] = await m.query('SELECT deleted_at IS NOT NULL AS deleted, active FROM images WHERE id = $1 FOR SHARE', [image.id]);
  if (fresh) Object.assign(image, { deletedAt: fresh.deleted ? (image.deletedAt ?? new Date()) : null, active: fresh.active });
  if (!fresh || image.deletedAt) throw new ServerError('image_not_found', `No image with id ${image.id}; pick one from GET /api/v1/images.`, [{ field: 'imageId', problems: ['unknown image'] }]);
  if (!image.active) {
    throw new ServerError('image_deprecated', `The image "${image.name}" is deprecated: servers running it keep working, but no new server or rebuild uses it. Choose another image.`, [{ field: 'imageId', problems: [`image "${image.name}" is deprecated`] }]);
  }
  if (!deps.requireVerifiedImages) return;
  const [row]: { ok: boolean }[] = await m.query(
    `SELECT EXISTS (SELECT 1 FROM image_node_states v WHERE v.image_id = $1 AND v.node_id = $2 AND v.sha256 = $3 AND v.state = 'verified') AS ok`,
    [image.id, server.nodeId, image.sha256],
  );
  if (!row?.ok) {
    throw new ServerError('image_unverified', `The image "${image.name}" is not verified on this server's node yet: the node has not fetched it and checked its sha256. Choose another image, or try again once staff have verified it there.`, [{ field: 'imageId', problems: [`image "${image.name}" is not verified on the server's node`] }]);
  }
}
