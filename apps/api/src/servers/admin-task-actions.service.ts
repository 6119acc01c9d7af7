import { Inject, Injectable } from '@nestjs/common';
import { SERVER_ACTIONS, type ServerAction, type ServerView } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { nowMs } from '../common/clock.js';
import type { Actor } from '../common/request-context.js';
import { ServerError } from './servers.errors.js';
import { ServerActionsService } from './server-actions.service.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { ServerEntity } from './server.entities.js';

interface TaskRow { id: string; tenant_id: string; server_id: string; op: string; state: string; newest: boolean }

/**
 * Staff unsticking what the fleet could not finish: retry a failed task, cancel an active one,
 * force-delete a server stuck in `deleting` (or `error`). Each is confirmed in the panel with a
 * reason and audited. Thin on purpose: a retry is the same action again through the one path every
 * action takes (`ServerActionsService.act`), a cancel is a failure through the runner, as a timeout is.
 */
@Injectable()
export class AdminTaskActionsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ServerActionsService) private readonly servers: ServerActionsService,
    @Inject(TaskRunner) private readonly tasks: TaskRunner,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  private async task(id: string): Promise<TaskRow> {
    const [t]: TaskRow[] = await this.ds.query(
      `SELECT t.id, t.tenant_id, t.server_id, t.op, t.state,
              NOT EXISTS (SELECT 1 FROM tasks n WHERE n.server_id = t.server_id AND (n.created_at, n.id) > (t.created_at, t.id)) AS newest
         FROM tasks t WHERE t.id = $1`,
      [id],
    );
    if (!t) throw new ServerError('task_not_found', `No task with id ${id}.`);
    return t;
  }

  /** The failed task's operation again, on the same server, as a new task. */
  async retry(actor: Actor, taskId: string, reason: string): Promise<ServerView> {
    const t = await this.task(taskId);
    if (t.state !== 'failed') throw new ServerError('invalid_transition', `Only a failed task can be retried; this one is ${t.state}.`);
    if (!t.newest) throw new ServerError('invalid_transition', 'A newer task has run on this server since; retry that one, or act on the server itself.');
    if (!SERVER_ACTIONS.includes(t.op as ServerAction)) {
      throw new ServerError('invalid_transition', `A failed ${t.op} cannot be retried as it is; force-delete the server (the customer can order again) or fix it on the node.`);
    }
    const view = await this.servers.act(t.tenant_id, actor, t.server_id, t.op as ServerAction, nowMs());
    await this.audit.record(this.ds.manager, {
      tenantId: t.tenant_id, actorUserId: actor.userId, actorKind: 'staff', action: 'task.retry', targetType: 'server', targetId: t.server_id, ip: actor.ip,
      details: { taskId: t.id, op: t.op, reason, newTaskId: view.currentTask?.id ?? null },
    });
    return view;
  }

  /** An active task fails now with the staff's reason; the server goes where a failure takes it. */
  async cancel(actor: Actor, taskId: string, reason: string): Promise<void> {
    const t = await this.task(taskId);
    const done = await this.tasks.cancel(t.id, `cancelled by staff: ${reason}`, (m, task) =>
      this.audit.record(m, {
        tenantId: task.tenantId, actorUserId: actor.userId, actorKind: 'staff', action: 'task.cancel', targetType: 'server', targetId: task.serverId, ip: actor.ip,
        details: { taskId: t.id, op: task.op, reason },
      }),
    );
    if (!done) throw new ServerError('invalid_transition', `Only a queued or running task can be cancelled; this one is ${t.state}.`);
  }

  /**
   * A server stuck in `deleting` (its node never confirmed) or in `error` is marked deleted here:
   * its active tasks fail, its capacity, addresses and snapshots are let go (TaskRunner.forceDelete,
   * the one place that writes it). Whatever is left on the node is the node's reconciliation to clean up.
   */
  async forceDelete(actor: Actor, serverId: string, reason: string): Promise<void> {
    const change = await this.ds.transaction(async (m) => {
      const server = await m.findOne(ServerEntity, { where: { id: serverId }, lock: { mode: 'pessimistic_write' } });
      if (!server) throw new ServerError('server_not_found', `No server with id ${serverId}.`);
      const from = server.state;
      const change = await this.tasks.forceDelete(m, server, `cancelled: the server was force-deleted by staff (${reason})`);
      await this.audit.record(m, {
        tenantId: server.tenantId, actorUserId: actor.userId, actorKind: 'staff', action: 'server.force_delete', targetType: 'server', targetId: server.id, ip: actor.ip,
        details: { from, reason },
      });
      return change;
    });
    this.tasks.announce(change);
  }

}
