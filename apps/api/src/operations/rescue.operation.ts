import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';
import { loadSpec } from './server-spec.js';

/** Boot the server into its node's rescue system, its own disk attached as a second disk, on its own tap and addresses (the node's handler does the work). */
export const rescueOperation: ApiOperation = {
  op: 'rescue',
  async plan(ctx): Promise<Plan> {
    const { spec } = await loadSpec(ctx.m, ctx.deps, ctx.server);
    return onItsNode('rescue', () => ({ spec }))(ctx);
  },
};
