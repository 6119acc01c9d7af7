import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';
import { loadSpec } from './server-spec.js';

export interface RebuildInput {
  /** The image to reinstall from (default: the current one); it must be active. */
  imageId?: string;
}

/** Reinstall from an image on the server's node, keeping its addresses and SSH keys. */
export const rebuildOperation: ApiOperation<RebuildInput | undefined> = {
  op: 'rebuild',
  async plan(ctx): Promise<Plan> {
    const { spec, image } = await loadSpec(ctx.m, ctx.deps, ctx.server, { imageId: ctx.input?.imageId });
    ctx.server.imageId = image.id;
    return onItsNode('rebuild', () => ({ spec }))(ctx);
  },
};
