import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface UnsuspendInput {
  /** false: the server was stopped when it was held, so nothing runs on the node and it simply ends `stopped`. */
  start?: boolean;
}

const startOnNode = onItsNode<UnsuspendInput | undefined>('unsuspend', () => ({ start: true }));

/** Lift a hold: start the server again on its node, or, if it was stopped when held, end `stopped` without a command. */
export const unsuspendOperation: ApiOperation<UnsuspendInput | undefined> = {
  op: 'unsuspend',
  async plan(ctx): Promise<Plan> {
    if (ctx.input?.start === false) return { done: 'stopped', audit: { to: 'stopped' } };
    return startOnNode(ctx);
  },
};
