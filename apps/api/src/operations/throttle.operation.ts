import type { ApiOperation } from './operation.js';
import { onItsNode } from './node-step.js';

export interface ThrottleInput {
  /** The rate to set (0 = unlimited): the over-quota rate, or the plan's own when the throttle lifts. */
  netMbit: number;
}

/**
 * The traffic quota (usage/quota.service.ts) asks for it as the system: one command to the server's node.
 * The rate the node confirmed is `servers.throttle_applied_mbit`; until it matches the wanted one
 * (`throttle_mbit`), the quota asks again on the next usage it receives.
 */
export const throttleOperation: ApiOperation<ThrottleInput> = {
  op: 'throttle',
  async plan(ctx) {
    ctx.server.throttleSentMbit = ctx.server.throttleMbit;
    const plan = await onItsNode<ThrottleInput>('throttle', (c) => ({ netMbit: c.input.netMbit }))(ctx);
    return { ...plan, audit: { netMbit: ctx.input.netMbit, throttled: ctx.server.throttleMbit > 0 } };
  },
  async onEnd(ctx) {
    if (ctx.ok) {
      ctx.server.throttleAppliedMbit = ctx.server.throttleSentMbit; // the runner writes it with the end state
    }
  },
} as ApiOperation<ThrottleInput>;
