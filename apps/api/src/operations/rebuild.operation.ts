import { requireLogin } from '../servers/root-password.js';
import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';
import { refuseWhileSnapshots } from '../snapshots/snapshot-space.js';
import { loadSpec, requireOfferable } from './server-spec.js';
import { requireImageFits } from '../images/image-fit.js';

export interface RebuildInput {
  /** The image to reinstall from (default: the current one); it must be offered (not deprecated) and verified on the server's node. */
  imageId?: string;
  /** The SSH keys to install this time (default: the ones it has); `[]` removes them all (a password must remain). */
  sshKeyIds?: string[];
  /** SHA-512 crypt hash of a new root password (made by the API; default: the one it has, if any). */
  rootPasswordHash?: string;
}

/** Reinstall from an image on the server's node, keeping its addresses; keys and password as chosen again. */
export const rebuildOperation: ApiOperation<RebuildInput | undefined> = {
  op: 'rebuild',
  async plan(ctx): Promise<Plan> {
    const input = ctx.input ?? {};
    await refuseWhileSnapshots(ctx.m, ctx.server.id, 'a rebuild (it replaces the disk)');
    if (input.sshKeyIds !== undefined) {
      // checked for ownership (another team's key id is unknown here) before the server keeps them
      const keys = await ctx.deps.sshKeys.requireOwned(ctx.m, ctx.server.tenantId, input.sshKeyIds);
      ctx.server.sshKeyIds = keys.map((k) => k.id);
    }
    if (input.rootPasswordHash !== undefined) ctx.server.rootPasswordHash = input.rootPasswordHash;
    // choosing the logins again must leave one (a rebuild that keeps them changes nothing about logging in)
    if (input.sshKeyIds !== undefined || input.rootPasswordHash !== undefined) requireLogin(ctx.server.sshKeyIds, ctx.server.rootPasswordHash);
    const { spec, image } = await loadSpec(ctx.m, ctx.deps, ctx.server, { imageId: input.imageId });
    await requireOfferable(ctx.m, ctx.deps, ctx.server, image);
    requireImageFits(image, ctx.server, 'This server', 'imageId');
    ctx.server.imageId = image.id;
    const plan = await onItsNode('rebuild', () => ({ spec }))(ctx);
    return { ...plan, audit: { imageId: image.id, sshKeys: ctx.server.sshKeyIds.length, ...(input.rootPasswordHash !== undefined ? { rootPassword: 'changed' } : {}) } };
  },
};
