import { DomainState } from '@oblako/contracts';
import { GuestAgentError, GuestAgentErrorCode } from '../../guest-agent.js';
import { domainName } from '../../naming.js';
import { CommandFailure, FailureCode, requireDomain, type CommandHandler } from './handler.js';

/**
 * Set a user's password in the running guest through its QEMU guest agent (`guest-set-user-password`, with the
 * crypt hash the API made). Safe to repeat: setting the same hash twice changes nothing. A guest whose agent does
 * not answer fails with `agent_unavailable`, and nothing in the guest has changed.
 */
export const resetPasswordHandler: CommandHandler<'reset_password'> = {
  op: 'reset_password',
  async run(cmd, ctx) {
    const state = await requireDomain(ctx, cmd.serverId);
    if (state !== DomainState.Running) throw new CommandFailure(FailureCode.NotRunning, `server ${cmd.serverId} is ${state}; a password is reset only in a running guest`);
    const name = domainName(cmd.serverId);
    try {
      if (!(await ctx.rec.step('agent_ping', () => ctx.agent.ping(name, 5), { progress: 20 }))) {
        throw new GuestAgentError(GuestAgentErrorCode.Unavailable, 'no guest agent answers in this server (qemu-guest-agent is not installed or not running)');
      }
      await ctx.rec.step('set_password', () => ctx.agent.setUserPassword(name, cmd.user, cmd.passwordHash), { progress: 60 });
    } catch (err) {
      if (err instanceof GuestAgentError) {
        throw new CommandFailure(err.code === GuestAgentErrorCode.NotRunning ? FailureCode.NotRunning : err.code === GuestAgentErrorCode.Unavailable ? FailureCode.AgentUnavailable : FailureCode.HostError, err.message);
      }
      throw err;
    }
  },
  timeoutMs: () => 90_000,
};
