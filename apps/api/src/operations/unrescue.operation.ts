import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';
import { loadSpec } from './server-spec.js';

/** Leave the rescue system: the server's normal definition again, booted from its own disk. */
export const unrescueOperation: ApiOperation = {
  op: 'unrescue',
  async plan(ctx): Promise<Plan> {
    const { spec } = await loadSpec(ctx.m, ctx.deps, ctx.server);
    return onItsNode('unrescue', () => ({ spec }))(ctx);
  },
};
