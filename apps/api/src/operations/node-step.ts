import type { TaskOp } from '@oblako/contracts';
import { ServerError } from '../servers/servers.errors.js';
import type { ApiOperation, OperationContext, Plan } from './operation.js';

/**
 * An operation that is one command to the server's own node (start, stop, reboot, pause...): `fields` gives the
 * command's own fields from the input. A server that was never placed has no node to ask.
 */
export function onItsNode<Input = unknown>(op: TaskOp, fields: (ctx: OperationContext<Input>) => Record<string, unknown> = () => ({})): ApiOperation<Input>['plan'] {
  return async (ctx): Promise<Plan> => {
    const nodeId = ctx.server.nodeId;
    if (!nodeId) throw new ServerError('invalid_transition', `The server has not been placed on a node yet; it cannot ${op}.`);
    await ctx.deps.placement.requireReachable(ctx.m, nodeId, op);
    return { steps: [{ nodeId, command: fields(ctx) }] };
  };
}
