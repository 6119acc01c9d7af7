import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ACTION_RULES, canTransition, type DomainStateEvent, type Heartbeat, type ServerAction, type ServerState, type TaskProgressEvent, type TaskResultEvent,
} from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { nowMs } from '../common/clock.js';
import { IpAllocatorService } from '../fleet/ip-allocator.service.js';
import { NodePlacementService } from './node-placement.service.js';
import { ServerEventsBus } from './server-events.bus.js';
import type { TaskStageTimings } from './server.entities.js';

/** Why an event was refused; the consumer terminates such messages instead of redelivering them. */
export class RejectedEvent extends Error {}

interface TaskRow {
  id: string; tenant_id: string; server_id: string; node_id: string | null; op: string; state: string; previous_state: ServerState | null;
}
interface ServerRow { id: string; tenant_id: string; node_id: string | null; state: ServerState; vcpus: number; memory_mib: number; disk_gib: number }

const ACTIVE = ['queued', 'dispatched', 'running'];

/** What each op leaves the server in while it runs, on success and on failure. */
export function outcomeOf(op: string, previous: ServerState | null): { via: ServerState; ok: ServerState; failed: ServerState } | null {
  if (op === 'create') return { via: 'provisioning', ok: 'running', failed: 'error' };
  const rule = ACTION_RULES[op as ServerAction];
  if (!rule) return null;
  return { via: rule.via, ok: rule.to, failed: rule.onFailure === 'previous' ? (previous ?? 'error') : rule.onFailure };
}

/**
 * Moves tasks and servers along from the node's events. Every event was already validated
 * against the contract schema; here it must also match the task's node and server.
 * Handlers are idempotent: a redelivered event finds the task finished and changes nothing.
 */
@Injectable()
export class TaskEventsService {
  private readonly logger = new Logger('TaskEvents');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NodePlacementService) private readonly placement: NodePlacementService,
    @Inject(IpAllocatorService) private readonly ips: IpAllocatorService,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /** One statement on the hot path; the rare miss is explained by a second look (unknown, finished, or not this node's). */
  async onProgress(nodeId: string, e: TaskProgressEvent): Promise<void> {
    const [row]: { tenant_id: string; op: string; server_state: ServerState }[] = await this.ds.query(
      `UPDATE tasks t SET state = 'running', progress = greatest(t.progress, $2), stage = $3,
              timings = jsonb_build_object('firstProgressAt', $4::float8) || t.timings, updated_at = now()
        WHERE t.id = $1 AND t.server_id = $5 AND t.node_id = $6 AND t.state IN ('queued', 'dispatched', 'running')
        RETURNING t.tenant_id, t.op, (SELECT s.state FROM servers s WHERE s.id = t.server_id) AS server_state`,
      [e.taskId, e.progress, e.stage, e.at, e.serverId, nodeId],
    );
    if (!row) {
      await this.lockTask(this.ds.manager, nodeId, e.taskId, e.serverId, false);
      return;
    }
    this.bus.emit({
      tenantId: row.tenant_id, serverId: e.serverId, state: row.server_state,
      task: { id: e.taskId, serverId: e.serverId, op: row.op as never, state: 'running', progress: e.progress, stage: e.stage, error: null },
    });
  }

  async onResult(nodeId: string, e: TaskResultEvent): Promise<void> {
    const seenAt = nowMs();
    const change = await this.ds.transaction(async (m) => {
      const task = await this.lockTask(m, nodeId, e.taskId, e.serverId);
      if (!task) return null;
      if (!ACTIVE.includes(task.state)) return null; // duplicate delivery: already applied
      if (task.op !== e.op) throw new RejectedEvent(`result for task ${task.id} says op "${e.op}" but the task is "${task.op}"`);
      const timings: TaskStageTimings = {
        daemonReceivedAt: e.timings.receivedAt,
        hypervisorStartedAt: e.timings.hypervisorStartedAt,
        hypervisorDoneAt: e.timings.hypervisorDoneAt,
        daemonFinishedAt: e.timings.finishedAt,
        resultSeenAt: seenAt,
        steps: e.timings.steps,
      };
      const error = e.ok ? null : `${e.error?.code ?? 'failed'}: ${e.error?.message ?? 'the node reported a failure without details'}`;
      return this.finish(m, task, e.ok, error, timings, 'node');
    });
    if (change) this.bus.emit(change);
  }

  /**
   * A node that disappears mid-task must not leave a server stuck: tasks with no word from the
   * node for `timeoutSeconds` fail with a reason, and the server goes where a failure takes it
   * (back to its previous state, or error). A late result is then ignored; a later domain.state
   * event still brings the server's state in line with the guest.
   */
  async expireStaleTasks(timeoutSeconds: number): Promise<number> {
    const stale: { id: string }[] = await this.ds.query(
      `SELECT id FROM tasks WHERE state IN ('queued', 'dispatched', 'running') AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT 100`,
      [timeoutSeconds],
    );
    let expired = 0;
    for (const { id } of stale) {
      const change = await this.ds.transaction(async (m) => {
        const [task]: TaskRow[] = await m.query(
          `SELECT id, tenant_id, server_id, node_id, op, state, previous_state FROM tasks
            WHERE id = $1 AND state IN ('queued', 'dispatched', 'running') AND updated_at < now() - make_interval(secs => $2) FOR UPDATE SKIP LOCKED`,
          [id, timeoutSeconds],
        );
        if (!task) return null;
        const error = `timeout: the node did not report on this ${task.op} within ${timeoutSeconds} s; it may be offline. Try again, or contact support if it persists.`;
        return this.finish(m, task, false, error, {}, 'system');
      });
      if (change) {
        expired++;
        this.bus.emit(change);
      }
    }
    return expired;
  }

  /** Finish a locked, active task and move its server on, in the caller's transaction. */
  private async finish(m: EntityManager, task: TaskRow, ok: boolean, error: string | null, timings: TaskStageTimings, actorKind: 'node' | 'system') {
    const [server]: ServerRow[] = await m.query(
      'SELECT id, tenant_id, node_id, state, vcpus, memory_mib, disk_gib FROM servers WHERE id = $1 FOR UPDATE',
      [task.server_id],
    );
    await m.query(
      `UPDATE tasks SET state = $2, progress = CASE WHEN $3::boolean THEN 100 ELSE progress END, error = $4, finished_at = now(), updated_at = now(),
              timings = timings || $5::jsonb
        WHERE id = $1`,
      [task.id, ok ? 'succeeded' : 'failed', ok, error, JSON.stringify(timings)],
    );
    if (!server) return null;
    let state = server.state;
    const outcome = outcomeOf(task.op, task.previous_state);
    // Only the task that put the server in its transient state may move it on (a delete may have overtaken it).
    if (outcome && server.state === outcome.via) {
      const next = ok ? outcome.ok : outcome.failed;
      if (canTransition(server.state, next)) {
        state = next;
        await m.query(
          `UPDATE servers SET state = $2::varchar, updated_at = now(), deleted_at = CASE WHEN $2::varchar = 'deleted' THEN now() ELSE deleted_at END WHERE id = $1`,
          [server.id, next],
        );
        if (next === 'deleted') {
          if (server.node_id) await this.placement.release(m, server.node_id, { vcpus: server.vcpus, memoryMiB: server.memory_mib, diskGiB: server.disk_gib });
          await this.ips.releaseForServer(m, server.id);
        }
      } else {
        this.logger.warn(`Server ${server.id}: ${server.state} -> ${next} is not in the transition table; left as is`);
      }
    }
    if (!ok) {
      await this.audit.record(m, { tenantId: server.tenant_id, actorUserId: null, actorKind, action: 'task.failed', targetType: 'server', targetId: server.id, ip: null, details: { taskId: task.id, op: task.op, error } });
    }
    const taskState = ok ? ('succeeded' as const) : ('failed' as const);
    return { tenantId: server.tenant_id, serverId: server.id, state, task: { id: task.id, serverId: task.server_id, op: task.op as never, state: taskState, progress: ok ? 100 : 0, stage: null, error } };
  }

  /** The guest changed state by itself (shut down from inside, crashed): follow it when no task is running. */
  async onDomainState(nodeId: string, e: DomainStateEvent): Promise<void> {
    const target: ServerState | null = e.state === 'running' ? 'running' : e.state === 'shutoff' ? 'stopped' : e.state === 'crashed' ? 'error' : null;
    if (!target) return;
    const change = await this.ds.transaction(async (m) => {
      const [server]: ServerRow[] = await m.query('SELECT id, tenant_id, node_id, state FROM servers WHERE id = $1 FOR UPDATE', [e.serverId]);
      if (!server) return null;
      if (server.node_id !== nodeId) throw new RejectedEvent(`domain.state for server ${e.serverId} came from node ${nodeId}, but the server is on ${server.node_id ?? 'no node'}`);
      if (!['running', 'stopped', 'error'].includes(server.state) || server.state === target) return null;
      const active = await m.query(`SELECT 1 FROM tasks WHERE server_id = $1 AND state IN ('queued', 'dispatched', 'running') LIMIT 1`, [server.id]);
      if (active.length || !canTransition(server.state, target)) return null;
      await m.query('UPDATE servers SET state = $2, updated_at = now() WHERE id = $1', [server.id, target]);
      return { tenantId: server.tenant_id, serverId: server.id, state: target, task: null };
    });
    if (change) this.bus.emit(change);
  }

  async onHeartbeat(nodeId: string, hb: Heartbeat): Promise<void> {
    await this.ds.query(
      `UPDATE nodes SET last_heartbeat_at = now(), daemon_version = $2, hypervisor = $3,
              state = CASE WHEN state = 'offline' THEN 'online' ELSE state END
        WHERE id = $1`,
      [nodeId, hb.daemonVersion, hb.hypervisor],
    );
  }

  private async lockTask(m: EntityManager, nodeId: string, taskId: string, serverId: string, lock = true): Promise<TaskRow | null> {
    const [task]: TaskRow[] = await m.query(
      `SELECT id, tenant_id, server_id, node_id, op, state, previous_state FROM tasks WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [taskId],
    );
    if (!task) {
      this.logger.warn(`Event for unknown task ${taskId} from node ${nodeId}; ignored`);
      return null;
    }
    if (task.server_id !== serverId) throw new RejectedEvent(`event names server ${serverId} but task ${taskId} belongs to server ${task.server_id}`);
    if (task.node_id !== nodeId) throw new RejectedEvent(`event for task ${taskId} came from node ${nodeId}, but the task was sent to ${task.node_id ?? 'no node'}`);
    return task;
  }
}
