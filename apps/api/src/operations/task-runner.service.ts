import { randomUUID } from 'node:crypto';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ACTIVE_TASK_STATES, canTransition, commandMessageId, OPERATIONS, outcomeOf, planOperation, WIRE_VERSION,
  type ServerState, type TaskOp, type TaskProgressEvent, type TaskResultEvent,
} from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { BillingClock } from '../billing/billing.clock.js';
import { nowMs } from '../common/clock.js';
import { changedRows } from '../database/sql.js';
import type { OperationActor } from '../common/request-context.js';
import { IpAllocatorService } from '../fleet/ip-allocator.service.js';
import { NatsService } from '../messaging/nats.service.js';
import { ApiMetrics } from '../metrics/api-metrics.js';
import { SshKeysService } from '../ssh-keys/ssh-keys.service.js';
import { NodePlacementService } from '../servers/node-placement.service.js';
import { OutboxRelayService, type CommittedCommand } from '../servers/outbox-relay.service.js';
import { ServerEntity, TaskEntity, type TaskStageTimings } from '../servers/server.entities.js';
import { ServerEventsBus, type ServerChange } from '../servers/server-events.bus.js';
import { ServerError } from '../servers/servers.errors.js';
import { ACTIVE_TASKS_SQL, hasActiveTask } from './active-tasks.js';
import { followPlan, type Next, type OperationDeps, type Step, type TaskState } from './operation.js';
import { API_OPERATIONS } from './registry.js';

/** States in which a server placed on a node has a domain there (a transient state has a task of its own). */
export const DOMAIN_HOLDING_STATES: readonly ServerState[] = ['running', 'stopped', 'paused', 'suspended', 'rescue'];
export const DOMAIN_HOLDING_STATES_SQL = `(${DOMAIN_HOLDING_STATES.map((s) => `'${s}'`).join(', ')})`;
/** The reason a server turns `error` when its node no longer has its domain (reconciliation). */
export const LOST_REASON = 'the hypervisor lost this server';

/** Why an event was refused; the consumer terminates such messages instead of redelivering them. */
export class RejectedEvent extends Error {}

/** An operation begun in a transaction: what to publish and announce once it commits ({@link TaskRunner.afterCommit}). */
export interface Started {
  server: ServerEntity;
  /** Null when the operation needed no node (e.g. deleting an order that was never placed). */
  task: TaskEntity | null;
  /** The steps the plan gave (the first is on its way). */
  steps: Step[];
  readonly publications: CommittedCommand[];
}

type Change = Omit<ServerChange, 'at'>;

/** Commands of a task's older attempts to take back from a node after the commit ({@link TaskRunner.withdraw}). */
interface Withdrawal {
  nodeId: string;
  op: TaskOp;
  taskId: string;
  upToAttempt: number;
}

interface Applied {
  change: Change | null;
  publications: CommittedCommand[];
  withdrawals: Withdrawal[];
}

interface TaskRow {
  id: string; tenant_id: string; server_id: string; node_id: string | null; op: TaskOp; state: string; previous_state: ServerState | null;
  attempts: number; pending_steps: Step[];
}

const TASK_COLUMNS = 'id, tenant_id, server_id, node_id, op, state, previous_state, attempts, pending_steps';

/**
 * The one place that moves operations along. It owns the task rows and their attempts, the outbox rows
 * (each command checked against its contract schema), every write of a server's state (checked against the
 * contract's table), the audit entry and the live update. The operations (operations/<op>.operation.ts) only
 * plan commands and read results. Billing, staff holds, tenant suspension, timeouts and the guest's own state
 * changes all come through here, as a person or as the `system` actor.
 */
@Injectable()
export class TaskRunner {
  private readonly logger = new Logger('TaskRunner');
  readonly deps: OperationDeps;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(OutboxRelayService) private readonly relay: OutboxRelayService,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(ApiMetrics) private readonly metrics: ApiMetrics,
    @Inject(IpAllocatorService) ips: IpAllocatorService,
    @Inject(NodePlacementService) placement: NodePlacementService,
    @Inject(SshKeysService) sshKeys: SshKeysService,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(BillingClock) billingClock: BillingClock,
  ) {
    this.deps = { ips, placement, sshKeys, requireVerifiedImages: config.requireVerifiedImages, billingNow: () => billingClock.now() };
  }

  /**
   * Lock the server, begin `op` on it and commit; then publish and announce. `explain` may replace the
   * contract's refusal with a reason of its own (e.g. why a server is suspended).
   */
  async run(
    where: { serverId: string; tenantId?: string },
    op: TaskOp,
    actor: OperationActor,
    input: unknown,
    acceptedAt: number,
    opts: { explain?: (m: EntityManager, server: ServerEntity, reason: string) => Promise<string>; notFound?: () => Error } = {},
  ): Promise<Started> {
    const started = await this.ds.transaction(async (m) => {
      const server = await m.findOne(ServerEntity, { where: { id: where.serverId, ...(where.tenantId ? { tenantId: where.tenantId } : {}) }, lock: { mode: 'pessimistic_write' } });
      if (!server) throw (opts.notFound ?? serverNotFound)();
      try {
        return await this.begin(m, server, op, actor, input, acceptedAt);
      } catch (err) {
        if (err instanceof OperationRefused && opts.explain) throw new OperationRefused(await opts.explain(m, server, err.message));
        throw err;
      }
    });
    this.afterCommit(started);
    return started;
  }

  /**
   * Begin `op` on a server the caller has locked (FOR UPDATE), in the caller's transaction: check the rule,
   * plan, move the server to the rule's running state, write the task, the first command to the outbox and
   * the audit entry. Call {@link afterCommit} with the result once the transaction commits.
   */
  async begin(
    m: EntityManager, server: ServerEntity, op: TaskOp, actor: OperationActor, input: unknown, acceptedAt: number,
    opts: { audit?: boolean; hasActiveTask?: boolean } = {},
  ): Promise<Started> {
    const contract = OPERATIONS[op];
    const active = opts.hasActiveTask ?? (await hasActiveTask(m, server.id));
    const allowed = planOperation(server.state, op, active);
    if (!allowed.ok) throw new OperationRefused(allowed.reason);
    const previous = server.state;
    const plan = await API_OPERATIONS[op].plan({ m, server, actor, input, deps: this.deps });
    const auditEntry = (details: Record<string, unknown>) =>
      opts.audit === false
        ? Promise.resolve()
        : this.audit.record(m, {
            tenantId: server.tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: `server.${op}`, targetType: 'server', targetId: server.id,
            ip: actor.ip, details: { from: previous, ...details, ...(plan.audit ?? {}) },
          });
    if ('done' in plan) {
      // No node work: the operation ends at once, in a state its rule allows.
      const ends = [contract.rule.success === 'previous' ? previous : contract.rule.success, ...(contract.rule.alsoEnds ?? [])];
      if (!ends.includes(plan.done) || !canTransition(contract.rule.running, plan.done)) {
        throw new Error(`${op} planned to end in ${plan.done}, which its rule does not allow`);
      }
      // onEnd first: what it changes on the server (plan, size, ...) goes out in the one state write.
      await API_OPERATIONS[op].onEnd?.({ m, server, deps: this.deps, ok: true, state: plan.done });
      await this.writeServer(m, server, plan.done);
      await auditEntry({ to: plan.done });
      return { server, task: null, steps: [], publications: [] };
    }
    await this.writeServer(m, server, contract.rule.running);
    const [first, ...rest] = plan.steps;
    const { task, publication } = await this.insertTask(m, server, op, previous, acceptedAt, first, rest);
    await auditEntry({});
    return { server, task, steps: plan.steps, publications: [publication] };
  }

  /** After the commit: publish what was written to the outbox (the relay's fast path) and tell the panels. */
  afterCommit(started: Started): void {
    for (const p of started.publications) this.relay.publishCommitted(p);
    const { server, task } = started;
    this.bus.emit({
      tenantId: server.tenantId, serverId: server.id, state: server.state,
      task: task ? { id: task.id, serverId: task.serverId, op: task.op, state: task.state, progress: task.progress, stage: task.stage, error: task.error } : null,
    });
  }

  /**
   * An operation that failed before any node was asked (e.g. a paid order with no room anywhere): a failed task
   * with the reason, so the customer sees it, and the server where the rule's failure takes it.
   */
  async failUnsent(m: EntityManager, server: ServerEntity, op: TaskOp, actor: OperationActor, error: string): Promise<Change> {
    const rule = OPERATIONS[op].rule;
    const previous = server.state;
    const allowed = planOperation(server.state, op, await hasActiveTask(m, server.id));
    if (!allowed.ok) throw new OperationRefused(allowed.reason);
    const end = outcomeOf(op, previous, false);
    if (!canTransition(rule.running, end)) throw new Error(`${op}: ${rule.running} -> ${end} is not in the table`);
    const [task]: { id: string }[] = await m.query(
      `INSERT INTO tasks (tenant_id, server_id, node_id, op, state, progress, error, attempts, previous_state, timings, finished_at)
       VALUES ($1, $2, NULL, $3, 'failed', 0, $4, 0, $5, '{}', now()) RETURNING id`,
      [server.tenantId, server.id, op, error, previous],
    );
    await this.writeServer(m, server, end);
    await this.audit.record(m, {
      tenantId: server.tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'task.failed', targetType: 'server', targetId: server.id, ip: actor.ip,
      details: { taskId: task!.id, op, error, sent: false },
    });
    return { tenantId: server.tenantId, serverId: server.id, state: end, task: { id: task!.id, serverId: server.id, op, state: 'failed', progress: 0, stage: null, error } };
  }

  /** Announce a change committed elsewhere through the runner (e.g. {@link failUnsent}). */
  announce(change: Change): void {
    this.bus.emit(change);
  }

  // ---------------------------------------------------------------- node events

  /** One statement on the hot path; the rare miss is explained by a second look (unknown, finished, stale, or not this node's). */
  async onProgress(nodeId: string, e: TaskProgressEvent): Promise<void> {
    const [row] = changedRows<{ tenant_id: string; op: TaskOp; server_state: ServerState }>(await this.ds.query(
      `UPDATE tasks t SET state = 'running', progress = greatest(t.progress, $2), stage = $3,
              timings = jsonb_build_object('firstProgressAt', $4::float8) || t.timings, updated_at = now()
        WHERE t.id = $1 AND t.server_id = $5 AND t.node_id = $6 AND t.state IN ${ACTIVE_TASKS_SQL} AND ($7::int IS NULL OR t.attempts = $7)
        RETURNING t.tenant_id, t.op, (SELECT s.state FROM servers s WHERE s.id = t.server_id) AS server_state`,
      [e.taskId, e.progress, e.stage, e.at, e.serverId, nodeId, e.attempt ?? null],
    ));
    if (!row) {
      await this.taskFor(this.ds.manager, nodeId, e, false);
      return;
    }
    this.bus.emit({
      tenantId: row.tenant_id, serverId: e.serverId, state: row.server_state,
      task: { id: e.taskId, serverId: e.serverId, op: row.op, state: 'running', progress: e.progress, stage: e.stage, error: null },
    });
  }

  /** A node's result for the current step of a task: the operation decides what follows. */
  async onResult(nodeId: string, e: TaskResultEvent): Promise<void> {
    const seenAt = nowMs();
    const { change, publications, withdrawals } = await this.ds.transaction(async (m) => {
      const task = await this.taskFor(m, nodeId, e, true);
      if (!task || !ACTIVE_TASK_STATES.includes(task.state as never)) return { change: null, publications: [], withdrawals: [] }; // duplicate delivery or a stale attempt
      if (task.op !== e.op) throw new RejectedEvent(`result for task ${task.id} says op "${e.op}" but the task is "${task.op}"`);
      const server = await lockServer(m, task.server_id);
      const timings: TaskStageTimings = {
        daemonReceivedAt: e.timings.receivedAt,
        hypervisorStartedAt: e.timings.hypervisorStartedAt,
        hypervisorDoneAt: e.timings.hypervisorDoneAt,
        daemonFinishedAt: e.timings.finishedAt,
        resultSeenAt: seenAt,
        steps: e.timings.steps,
      };
      const operation = API_OPERATIONS[task.op];
      const ctx = { m, server: server!, deps: this.deps, task: taskState(task), result: e };
      const next = server ? (operation.onResult ? await operation.onResult(ctx) : followPlan(ctx)) : ({ kind: 'end', ok: e.ok } as Next);
      return this.apply(m, task, server, next, timings, { userId: null, kind: 'node', ip: null });
    });
    this.sendAfterCommit(publications, withdrawals);
    if (change) this.bus.emit(change);
  }

  /**
   * A node that disappears mid-task must not leave a server stuck: a task with no word from its node for
   * `timeoutSeconds` goes to its operation's `onTimeout` (default: it fails with a reason, and the server goes
   * where a failure takes it). A late result is then ignored; a later domain.state event still brings the
   * server's state in line with the guest.
   */
  async expireStale(timeoutSeconds: number): Promise<number> {
    const stale: { id: string }[] = await this.ds.query(
      `SELECT id FROM tasks WHERE state IN ${ACTIVE_TASKS_SQL} AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT 100`,
      [timeoutSeconds],
    );
    let expired = 0;
    for (const { id } of stale) {
      const { change, publications, withdrawals } = await this.ds.transaction(async (m) => {
        const [task]: TaskRow[] = await m.query(
          `SELECT ${TASK_COLUMNS} FROM tasks
            WHERE id = $1 AND state IN ${ACTIVE_TASKS_SQL} AND updated_at < now() - make_interval(secs => $2) FOR UPDATE SKIP LOCKED`,
          [id, timeoutSeconds],
        );
        if (!task) return { change: null, publications: [], withdrawals: [] };
        const server = await lockServer(m, task.server_id);
        const operation = API_OPERATIONS[task.op];
        const fallback: Next = {
          kind: 'end', ok: false,
          error: `timeout: the node did not report on this ${task.op} within ${timeoutSeconds} s; it may be offline. Try again, or contact support if it persists.`,
        };
        const next = server && operation.onTimeout ? await operation.onTimeout({ m, server, deps: this.deps, task: taskState(task), timeoutSeconds }) : fallback;
        return this.apply(m, task, server, next, {}, { userId: null, kind: 'system', ip: null });
      });
      this.sendAfterCommit(publications, withdrawals);
      if (change) {
        expired++;
        this.bus.emit(change);
      }
    }
    return expired;
  }

  /**
   * A node went offline: its active creates go to their operation's `onTimeout` at once (with `nodeOffline`), so a
   * create can be placed on another node instead of waiting out the task timeout. Other operations wait for the
   * node or the timeout (their server lives there).
   */
  async nodeWentOffline(nodeId: string, timeoutSeconds: number): Promise<number> {
    const tasks: { id: string }[] = await this.ds.query(`SELECT id FROM tasks WHERE node_id = $1 AND op = 'create' AND state IN ${ACTIVE_TASKS_SQL}`, [nodeId]);
    let moved = 0;
    for (const { id } of tasks) {
      const { change, publications, withdrawals } = await this.ds.transaction(async (m) => {
        const [task]: TaskRow[] = await m.query(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND node_id = $2 AND state IN ${ACTIVE_TASKS_SQL} FOR UPDATE SKIP LOCKED`, [id, nodeId]);
        if (!task) return { change: null, publications: [], withdrawals: [] };
        const server = await lockServer(m, task.server_id);
        const operation = API_OPERATIONS[task.op];
        const next: Next = server && operation.onTimeout
          ? await operation.onTimeout({ m, server, deps: this.deps, task: taskState(task), timeoutSeconds, nodeOffline: true })
          : { kind: 'end', ok: false, error: 'its node went offline' };
        return this.apply(m, task, server, next, {}, { userId: null, kind: 'system', ip: null });
      });
      this.sendAfterCommit(publications, withdrawals);
      if (change) {
        moved++;
        this.bus.emit(change);
      }
    }
    return moved;
  }

  /**
   * Staff cancel an active task: it ends failed with `error`, and its server goes where a failure
   * takes it (as for a timeout). `record` writes the staff audit entry in the same transaction.
   * False when the task is not active (any more).
   */
  async cancel(taskId: string, error: string, record: (m: EntityManager, task: { tenantId: string; serverId: string; op: string }) => Promise<void>): Promise<boolean> {
    const { change, publications, withdrawals, found } = await this.ds.transaction(async (m) => {
      const [task]: TaskRow[] = await m.query(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND state IN ${ACTIVE_TASKS_SQL} FOR UPDATE`, [taskId]);
      if (!task) return { change: null, publications: [], withdrawals: [], found: false };
      await record(m, { tenantId: task.tenant_id, serverId: task.server_id, op: task.op });
      const server = await lockServer(m, task.server_id);
      const r = await this.apply(m, task, server, { kind: 'end', ok: false, error }, {}, { userId: null, kind: 'system', ip: null });
      return { ...r, found: true };
    });
    this.sendAfterCommit(publications, withdrawals);
    if (change) this.bus.emit(change);
    return found;
  }

  /**
   * Staff force-delete a server stuck in `deleting` (its node never confirmed) or in `error`, in the caller's
   * transaction, with the server locked (FOR UPDATE) by the caller: its active tasks fail with `error`, it turns
   * `deleted` and lets go of what a finished delete lets go of (the delete operation's own `onEnd`: capacity,
   * addresses, snapshots). Whatever is left on the node is the node's reconciliation to clean up. The one state
   * write that skips the transition table (`error` -> `deleted`), on purpose and only here. Announce the change
   * after the commit.
   */
  async forceDelete(m: EntityManager, server: ServerEntity, error: string): Promise<Change> {
    if (server.state !== 'deleting' && server.state !== 'error') throw new OperationRefused(`Only a server stuck in deleting or in error can be force-deleted; this one is ${server.state}. Delete it the ordinary way.`);
    await m.query(
      `UPDATE tasks SET state = 'failed', error = $2, finished_at = now(), updated_at = now(), pending_steps = '[]' WHERE server_id = $1 AND state IN ${ACTIVE_TASKS_SQL}`,
      [server.id, error],
    );
    await API_OPERATIONS.delete.onEnd?.({ m, server, deps: this.deps, ok: true, state: 'deleted' });
    await this.writeServer(m, server, 'deleted');
    return { tenantId: server.tenantId, serverId: server.id, state: 'deleted', task: null };
  }

  /**
   * The guest changed state by itself (shut down from inside, crashed), as the node reports it: follow it
   * when no task is running and the table allows it.
   */
  async followGuest(nodeId: string, serverId: string, target: ServerState, at?: number): Promise<void> {
    const change = await this.ds.transaction(async (m) => {
      const server = await lockServer(m, serverId);
      if (!server) return null;
      if (server.nodeId !== nodeId) throw new RejectedEvent(`domain.state for server ${serverId} came from node ${nodeId}, but the server is on ${server.nodeId ?? 'no node'}`);
      if (!['running', 'stopped', 'error'].includes(server.state) || server.state === target) return null;
      if ((await hasActiveTask(m, server.id)) || !canTransition(server.state, target)) return null;
      // An event the node sent before it finished the server's last task is older news than that task's
      // result (it can arrive late: redelivered after an API replica died holding it, or after a NATS
      // outage). Both times are the node's own clock.
      if (at !== undefined) {
        const [last]: { done: number | null }[] = await m.query(
          `SELECT (timings->>'daemonFinishedAt')::float8 AS done FROM tasks
            WHERE server_id = $1 AND node_id = $2 AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1`,
          [server.id, nodeId],
        );
        if (last?.done != null && at <= last.done) return null;
      }
      await this.writeServer(m, server, target);
      return { tenantId: server.tenantId, serverId: server.id, state: target, task: null };
    });
    if (change) this.bus.emit(change);
  }

  /**
   * Reconciliation: the server's node has listed no domain for it for longer than `graceSeconds` while no task ran.
   * Re-checked under the server's lock; the server turns `error` with {@link LOST_REASON} (the panel offers rebuild),
   * audited as `server.lost` by the system. False when it no longer applies.
   */
  async markLost(nodeId: string, serverId: string, graceSeconds: number): Promise<boolean> {
    const change = await this.ds.transaction(async (m) => {
      const server = await lockServer(m, serverId);
      if (!server || server.nodeId !== nodeId || !DOMAIN_HOLDING_STATES.includes(server.state)) return null;
      const [still]: { since: Date }[] = await m.query(
        `SELECT domain_missing_since AS since FROM servers WHERE id = $1 AND domain_missing_since < now() - make_interval(secs => $2)`,
        [serverId, graceSeconds],
      );
      if (!still || (await hasActiveTask(m, serverId)) || !canTransition(server.state, 'error')) return null;
      const from = server.state;
      await this.writeServer(m, server, 'error', LOST_REASON);
      await m.query('UPDATE servers SET domain_missing_since = NULL WHERE id = $1', [serverId]);
      await this.audit.record(m, {
        tenantId: server.tenantId, actorUserId: null, actorKind: 'system', action: 'server.lost', targetType: 'server', targetId: server.id, ip: null,
        details: { from, to: 'error', nodeId, reason: LOST_REASON, missingSince: still.since.toISOString(), graceSeconds },
      });
      return { tenantId: server.tenantId, serverId: server.id, state: 'error' as const, task: null };
    });
    if (change) this.bus.emit(change);
    return !!change;
  }

  // ---------------------------------------------------------------- inside

  /** Carry out what the operation decided, in the caller's transaction. */
  private async apply(
    m: EntityManager, task: TaskRow, server: ServerEntity | null, next: Next, timings: TaskStageTimings, actor: OperationActor | { userId: null; kind: 'node'; ip: null },
  ): Promise<Applied> {
    if (next.kind === 'end' || !server) {
      const ok = next.kind === 'end' ? next.ok : false;
      const error = next.kind === 'end' ? (next.error ?? null) : 'the server is gone';
      return { change: await this.finish(m, task, server, ok, error, timings, actor, next.kind === 'end' ? next.state : undefined), publications: [], withdrawals: [] };
    }
    const [step, ...rest] = next.kind === 'next' ? next.steps : [next.step, ...task.pending_steps];
    const attempt = task.attempts + 1;
    // what the operation moved (a create placed again: its node) is written with the next command
    if (server.nodeId !== task.node_id || next.kind === 'retry') await this.writeServer(m, server, server.state, server.stateReason);
    const publication = await this.writeCommand(m, server, task.op, task.id, attempt, nowMs(), step!);
    await m.query(
      `UPDATE tasks SET attempts = $2, node_id = $3, state = 'queued', pending_steps = $4::jsonb, timings = timings || $5::jsonb, updated_at = now() WHERE id = $1`,
      [task.id, attempt, step!.nodeId, JSON.stringify(rest), JSON.stringify(timings)],
    );
    if (next.kind === 'retry') {
      await this.audit.record(m, {
        tenantId: server.tenantId, actorUserId: null, actorKind: actor.kind, action: 'task.retry', targetType: 'server', targetId: server.id, ip: null,
        details: { taskId: task.id, op: task.op, attempt, nodeId: step!.nodeId, reason: next.reason },
      });
    }
    const change: Change = {
      tenantId: server.tenantId, serverId: server.id, state: server.state,
      task: { id: task.id, serverId: server.id, op: task.op, state: 'queued', progress: 0, stage: next.kind === 'retry' ? 'retry' : null, error: null },
    };
    // the task left its node (a create placed again): that node's copies of the older attempts are taken back
    const withdrawals: Withdrawal[] = task.node_id && task.node_id !== step!.nodeId ? [{ nodeId: task.node_id, op: task.op, taskId: task.id, upToAttempt: task.attempts }] : [];
    return { change, publications: [publication], withdrawals };
  }

  /** After the commit: publish the new commands; take back from the stream the ones a node must no longer run. */
  private sendAfterCommit(publications: CommittedCommand[], withdrawals: Withdrawal[]): void {
    for (const p of publications) this.relay.publishCommitted(p);
    for (const w of withdrawals) void this.withdraw(w);
  }

  /**
   * A create placed on another node while its old node was silent: the old attempt's command may still wait in the
   * old node's consumer, unacknowledged (a daemon SIGKILLed mid-create). JetStream would hand it to the node's next
   * daemon when the 60 s ack wait runs out, and that daemon would build a domain only to be told it is an orphan.
   * Deleting it from the command stream means it never runs. If NATS cannot be asked now, the orphan path still
   * cleans up after the node is back.
   */
  private async withdraw(w: Withdrawal): Promise<void> {
    try {
      const n = await this.nats.withdrawCommands(this.nats.subjects.nodeCommand(w.nodeId, w.op), (p) => {
        const c = p as { taskId?: unknown; attempt?: unknown } | null;
        return c?.taskId === w.taskId && typeof c.attempt === 'number' && c.attempt <= w.upToAttempt;
      });
      if (n) this.logger.log(`Task ${w.taskId}: took back ${n} unacknowledged ${w.op} command(s) of attempt <= ${w.upToAttempt} from node ${w.nodeId}`);
    } catch (err) {
      this.logger.warn(`Task ${w.taskId}: could not take back the ${w.op} command from node ${w.nodeId} (${(err as Error).message}); the node's reconciliation will remove what it builds`);
    }
  }

  /** Finish a locked, active task and move its server on by the operation's rule. */
  private async finish(
    m: EntityManager, task: TaskRow, server: ServerEntity | null, ok: boolean, error: string | null, timings: TaskStageTimings,
    actor: OperationActor | { userId: null; kind: 'node'; ip: null }, override?: ServerState,
  ): Promise<Change | null> {
    const ended: unknown = await m.query(
      `UPDATE tasks SET state = $2, progress = CASE WHEN $3::boolean THEN 100 ELSE progress END, error = $4, finished_at = now(), updated_at = now(),
              timings = timings || $5::jsonb, pending_steps = '[]'
        WHERE id = $1 RETURNING extract(epoch FROM now() - created_at)::float8 AS seconds`,
      [task.id, ok ? 'succeeded' : 'failed', ok, error, JSON.stringify(timings)],
    );
    // Observed here, in the transaction that ends the task: one that rolls back and is retried is counted again (rare: a deadlock).
    this.metrics.taskFinished(task.op, ok, Number(changedRows<{ seconds: number }>(ended)[0]?.seconds));
    if (!server) return null;
    const rule = OPERATIONS[task.op].rule;
    let state = server.state;
    // Only the task that put the server in its running state may move it on (a delete may have overtaken it).
    if (server.state === rule.running) {
      const next = override ?? outcomeOf(task.op, task.previous_state, ok);
      if (canTransition(server.state, next)) {
        state = next;
        // onEnd first: what it changes on the server (plan, size, ...) goes out in the one state write.
        await API_OPERATIONS[task.op].onEnd?.({ m, server, deps: this.deps, ok, state: next });
        await this.writeServer(m, server, next);
      } else {
        this.logger.warn(`Server ${server.id}: ${server.state} -> ${next} is not in the transition table; left as is`);
      }
    }
    if (!ok) {
      await this.audit.record(m, {
        tenantId: server.tenantId, actorUserId: null, actorKind: actor.kind, action: 'task.failed', targetType: 'server', targetId: server.id, ip: null,
        details: { taskId: task.id, op: task.op, error },
      });
    }
    return {
      tenantId: server.tenantId, serverId: server.id, state,
      task: { id: task.id, serverId: task.server_id, op: task.op, state: ok ? 'succeeded' : 'failed', progress: ok ? 100 : 0, stage: null, error },
    };
  }

  /** The one write of a server's state (and of what an operation changed on it: node, image, plan, size, attached ISO, logins). */
  private async writeServer(m: EntityManager, server: ServerEntity, state: ServerState, reason: string | null = null): Promise<void> {
    server.state = state;
    server.stateReason = reason;
    if (state === 'deleted' && !server.deletedAt) server.deletedAt = new Date();
    await m.update(ServerEntity, { id: server.id }, {
      state, stateReason: reason, nodeId: server.nodeId, imageId: server.imageId, planId: server.planId, vcpus: server.vcpus, memoryMiB: server.memoryMiB, diskGiB: server.diskGiB,
      isoId: server.isoId, deletedAt: server.deletedAt, sshKeyIds: server.sshKeyIds, rootPasswordHash: server.rootPasswordHash ?? null,
      throttleSentMbit: server.throttleSentMbit ?? 0, throttleAppliedMbit: server.throttleAppliedMbit ?? 0, resizePlanId: server.resizePlanId ?? null,
    });
  }

  /** The task row and its first command in the outbox, in one statement. */
  private async insertTask(
    m: EntityManager, server: ServerEntity, op: TaskOp, previous: ServerState, acceptedAt: number, first: Step, rest: Step[],
  ): Promise<{ task: TaskEntity; publication: CommittedCommand }> {
    const taskId = randomUUID();
    const { subject, payload, msgId } = this.command(server, op, taskId, 1, acceptedAt, first);
    const [outbox]: { id: string }[] = await m.query(
      `WITH t AS (
         INSERT INTO tasks (id, tenant_id, server_id, node_id, op, state, progress, attempts, previous_state, timings, pending_steps)
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, 1, $6, $7::jsonb, $10::jsonb) RETURNING id
       )
       INSERT INTO outbox (task_id, subject, payload) SELECT id, $8, $9::jsonb FROM t RETURNING id`,
      [taskId, server.tenantId, server.id, first.nodeId, op, previous, JSON.stringify({ acceptedAt }), subject, payload, JSON.stringify(rest)],
    );
    const task = Object.assign(new TaskEntity(), {
      id: taskId, tenantId: server.tenantId, serverId: server.id, nodeId: first.nodeId, op, state: 'queued', progress: 0, stage: null, error: null, attempts: 1,
      previousState: previous, timings: { acceptedAt }, finishedAt: null, createdAt: new Date(), updatedAt: new Date(),
    });
    return { task, publication: { outboxId: outbox!.id, taskId, msgId, subject, payload } };
  }

  /** A further command of a task (a next step or a retry) in the outbox. */
  private async writeCommand(m: EntityManager, server: ServerEntity, op: TaskOp, taskId: string, attempt: number, issuedAt: number, step: Step): Promise<CommittedCommand> {
    const { subject, payload, msgId } = this.command(server, op, taskId, attempt, issuedAt, step);
    const [outbox]: { id: string }[] = await m.query(`INSERT INTO outbox (task_id, subject, payload) VALUES ($1, $2, $3::jsonb) RETURNING id`, [taskId, subject, payload]);
    return { outboxId: outbox!.id, taskId, msgId, subject, payload };
  }

  /** The command of one step, checked against its operation's contract schema. */
  private command(server: ServerEntity, op: TaskOp, taskId: string, attempt: number, issuedAt: number, step: Step) {
    const command = OPERATIONS[op].command.parse({ ...step.command, v: WIRE_VERSION, taskId, serverId: server.id, nodeId: step.nodeId, attempt, issuedAt, op });
    return { subject: this.nats.subjects.nodeCommand(step.nodeId, op), payload: JSON.stringify(command), msgId: commandMessageId(taskId, attempt) };
  }

  /**
   * The task an event is about, checked against the node and server it names. An event of an earlier attempt
   * (the task was retried or moved on since) is ignored, as is an event of an unknown task.
   */
  private async taskFor(m: EntityManager, nodeId: string, e: { taskId: string; serverId: string; attempt?: number }, lock: boolean): Promise<TaskRow | null> {
    const [task]: TaskRow[] = await m.query(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [e.taskId]);
    if (!task) {
      this.logger.warn(`Event for unknown task ${e.taskId} from node ${nodeId}; ignored`);
      return null;
    }
    if (task.server_id !== e.serverId) throw new RejectedEvent(`event names server ${e.serverId} but task ${e.taskId} belongs to server ${task.server_id}`);
    if (e.attempt !== undefined && e.attempt !== task.attempts) {
      this.logger.log(`Event of attempt ${e.attempt} of task ${e.taskId} from node ${nodeId}; the task is at attempt ${task.attempts}, ignored`);
      return null;
    }
    if (task.node_id !== nodeId) throw new RejectedEvent(`event for task ${e.taskId} came from node ${nodeId}, but the task was sent to ${task.node_id ?? 'no node'}`);
    return task;
  }
}

/** Refused by the operation's rule (409 with the reason). */
export class OperationRefused extends ServerError {
  constructor(reason: string) {
    super('invalid_transition', reason);
  }
}

const serverNotFound = () => new ServerError('server_not_found', 'No server with that id in this team.');

async function lockServer(m: EntityManager, id: string): Promise<ServerEntity | null> {
  return m.findOne(ServerEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
}

function taskState(t: TaskRow): TaskState {
  return { id: t.id, op: t.op, nodeId: t.node_id, attempts: t.attempts, previousState: t.previous_state, pendingSteps: t.pending_steps ?? [] };
}
