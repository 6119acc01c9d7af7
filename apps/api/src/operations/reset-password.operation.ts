import { ImageEntity } from '../catalogue/catalogue.entities.js';
import { ServerError } from '../servers/servers.errors.js';
import type { ApiOperation, Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface ResetPasswordInput {
  /** SHA-512 crypt hash, made by the API from the customer's new password; the clear text never gets here. */
  passwordHash: string;
}

/**
 * "Reset root password" on a running server, through the guest's agent on its node. An image without the agent
 * is refused at once (409 `no_guest_agent`); an agent that does not answer fails the task with `agent_unavailable`.
 * The stored hash becomes the new one, so a later rebuild seeds the password the customer chose last.
 */
export const resetPasswordOperation: ApiOperation<ResetPasswordInput> = {
  op: 'reset_password',
  async plan(ctx): Promise<Plan> {
    const image = await ctx.m.findOneBy(ImageEntity, { id: ctx.server.imageId });
    if (!image?.guestAgent) {
      throw new ServerError('no_guest_agent', `The server's image (${image?.name ?? 'unknown'}) has no guest agent, so its password cannot be reset while it runs; rebuild it with a new root password instead.`);
    }
    ctx.server.rootPasswordHash = ctx.input.passwordHash;
    const plan = await onItsNode<ResetPasswordInput>('reset_password', (c) => ({ user: 'root', passwordHash: c.input.passwordHash }))(ctx);
    return { ...plan, audit: { user: 'root' } };
  },
};
