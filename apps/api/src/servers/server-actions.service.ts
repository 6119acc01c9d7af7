import { Inject, Injectable } from '@nestjs/common';
import type { ServerAction, ServerView } from '@oblako/contracts';
import type { EntityManager } from 'typeorm';
import type { Actor } from '../common/request-context.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import type { ServerEntity } from './server.entities.js';
import { ServerViewsService } from './server-views.service.js';
import { ServerError } from './servers.errors.js';
import { hashPassword } from '../common/sha512-crypt.js';

/** What a customer (or staff, in a tenant) asks of one server: start, stop, reboot, rebuild, pause, resume, delete. */
@Injectable()
export class ServerActionsService {
  constructor(
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(ServerViewsService) private readonly views: ServerViewsService,
  ) {}

  /** Allowed only as the operation's rule says; otherwise 409 with its reason (a suspended server says why it is). */
  async act(
    tenantId: string, actor: Actor, serverId: string, action: ServerAction, acceptedAt: number,
    opts: { imageId?: string; isoId?: string; sshKeyIds?: string[]; rootPassword?: string } = {},
  ): Promise<ServerView> {
    if (action !== 'rebuild' && opts.imageId) throw new ServerError('invalid_input', 'imageId goes only with the rebuild action.', [{ field: 'imageId', problems: ['only with rebuild'] }]);
    if (action !== 'boot_iso' && opts.isoId) throw new ServerError('invalid_input', 'isoId goes only with the boot_iso action.', [{ field: 'isoId', problems: ['only with boot_iso'] }]);
    if (action !== 'rebuild' && opts.sshKeyIds !== undefined) throw new ServerError('invalid_input', 'sshKeyIds goes only with the rebuild action.', [{ field: 'sshKeyIds', problems: ['only with rebuild'] }]);
    if (action !== 'rebuild' && action !== 'reset_password' && opts.rootPassword !== undefined) {
      throw new ServerError('invalid_input', 'rootPassword goes only with the rebuild and reset_password actions.', [{ field: 'rootPassword', problems: ['only with rebuild or reset_password'] }]);
    }
    if (action === 'reset_password' && opts.rootPassword === undefined) {
      throw new ServerError('invalid_input', 'reset_password needs the new password in rootPassword.', [{ field: 'rootPassword', problems: ['required for reset_password'] }]);
    }
    // the clear password stops here: only its SHA-512 crypt hash goes on (task, outbox, node, guest)
    const passwordHash = opts.rootPassword !== undefined ? hashPassword(opts.rootPassword) : undefined;
    const input =
      action === 'rebuild' ? { imageId: opts.imageId, sshKeyIds: opts.sshKeyIds, rootPasswordHash: passwordHash }
      : action === 'boot_iso' ? { isoId: opts.isoId }
      : action === 'reset_password' ? { passwordHash }
      : undefined;
    await this.runner.run({ tenantId, serverId }, action, actor, input, acceptedAt, {
      explain: (m, server, reason) => (server.state === 'suspended' ? whySuspended(m, server) : Promise.resolve(reason)),
    });
    return this.views.get(tenantId, serverId);
  }
}

/** Why a suspended server refuses an action, in words the customer can act on (staff reasons stay in the audit log). */
async function whySuspended(m: EntityManager, server: ServerEntity): Promise<string> {
  const [r]: { tenant_suspended: boolean; staff_hold: boolean | null; ended: boolean | null }[] = await m.query(
    `SELECT t.suspended_at IS NOT NULL AS tenant_suspended, sb.staff_hold, sb.subscription_ended_at IS NOT NULL AS ended
       FROM tenants t LEFT JOIN server_billing sb ON sb.server_id = $2 WHERE t.id = $1`,
    [server.tenantId, server.id],
  );
  if (r?.staff_hold && r.tenant_suspended) return 'The server is suspended because your account is suspended; please contact support to have it lifted.';
  if (r?.staff_hold) return 'The server is suspended by our staff; please contact support to have it unsuspended.';
  if (r?.ended) return 'The server is suspended because its subscription has ended; it will be deleted after the retention period unless you contact support.';
  return 'The server is suspended because a payment is overdue; settle the invoice (Billing) to have it started again, or contact support.';
}
