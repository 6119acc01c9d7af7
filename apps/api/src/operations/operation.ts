import type { ServerState, TaskOp, TaskResultEvent } from '@oblako/contracts';
import type { EntityManager } from 'typeorm';
import type { OperationActor } from '../common/request-context.js';
import type { IpAllocatorService } from '../fleet/ip-allocator.service.js';
import type { SshKeysService } from '../ssh-keys/ssh-keys.service.js';
import type { NodePlacementService } from '../servers/node-placement.service.js';
import type { ServerEntity } from '../servers/server.entities.js';

/**
 * One step of an operation: a command aimed at one node. `command` holds the op's own fields (spec,
 * graceSeconds, addresses...); the runner adds the envelope (v, taskId, serverId, nodeId, attempt, issuedAt)
 * and checks the whole against the op's contract schema before it reaches the outbox.
 */
export interface Step {
  nodeId: string;
  command: Record<string, unknown>;
}

/** What the runner gives every hook: the caller's transaction, the server (row-locked) and the helpers ops need. */
export interface OperationContext<Input = unknown> {
  m: EntityManager;
  server: ServerEntity;
  actor: OperationActor;
  input: Input;
  deps: OperationDeps;
}

export interface OperationDeps {
  ips: IpAllocatorService;
  placement: NodePlacementService;
  sshKeys: SshKeysService;
  /** REQUIRE_VERIFIED_IMAGES: a rebuild, like an order, needs an image its node has verified. */
  requireVerifiedImages: boolean;
  /** The time billing decides by (BillingClock): a resize closes the hour in progress on the old hourly plan. */
  billingNow: () => Date;
}

/**
 * What an operation plans: the steps to send (the first now, the rest one after another as each succeeds),
 * or no node work at all and the state the server ends in (e.g. deleting an order that was never placed).
 * `audit` adds details to the operation's audit entry.
 */
export type Plan =
  | { steps: [Step, ...Step[]]; audit?: Record<string, unknown> }
  | { done: ServerState; audit?: Record<string, unknown> };

/** The task as the runner hands it to `onResult` / `onTimeout`. */
export interface TaskState {
  id: string;
  op: TaskOp;
  nodeId: string | null;
  /** Commands sent so far (1 after the first). */
  attempts: number;
  previousState: ServerState | null;
  /** Steps planned and not sent yet. */
  pendingSteps: Step[];
}

/** What happens after a result (or a timeout): the next steps, the same step again (maybe on another node), or the end. */
export type Next =
  | { kind: 'next'; steps: [Step, ...Step[]] }
  | { kind: 'retry'; step: Step; reason: string }
  | { kind: 'end'; ok: boolean; error?: string | null; state?: ServerState };

export interface ResultContext<Input = unknown> extends Omit<OperationContext<Input>, 'input' | 'actor'> {
  task: TaskState;
  result: TaskResultEvent;
}

export interface TimeoutContext extends Omit<OperationContext, 'input' | 'actor'> {
  task: TaskState;
  timeoutSeconds: number;
  /** Set when the task's node went offline (no heartbeat past the threshold) rather than the task timing out. */
  nodeOffline?: boolean;
}

/**
 * The API side of one operation (its contract file, with the state rule, is libs/contracts/src/operations/<op>.ts).
 * The runner (task-runner.service.ts) checks the rule, writes the task, the outbox row, the server's state, the
 * audit entry and the live update; an operation only says which commands go where and what a result means.
 */
export interface ApiOperation<Input = unknown> {
  readonly op: TaskOp;
  /** In the caller's transaction, with the server locked and the rule already checked. Throw a DomainError to refuse. */
  plan(ctx: OperationContext<Input>): Promise<Plan>;
  /** A result of the current step came back. Default: {@link followPlan}. */
  onResult?(ctx: ResultContext): Promise<Next>;
  /** The node said nothing for the task timeout. Default: the operation fails with the timeout as its reason. */
  onTimeout?(ctx: TimeoutContext): Promise<Next>;
  /** The task ended and the server is in `state`: give back what it held (e.g. a delete releases capacity and addresses). */
  onEnd?(ctx: Omit<OperationContext, 'input' | 'actor'> & { ok: boolean; state: ServerState }): Promise<void>;
}

/** The usual way on: a success sends the next planned step or ends the operation; a failure ends it with the node's reason. */
export function followPlan(ctx: ResultContext): Next {
  const { result, task } = ctx;
  if (!result.ok) {
    return { kind: 'end', ok: false, error: `${result.error?.code ?? 'failed'}: ${result.error?.message ?? 'the node reported a failure without details'}` };
  }
  const [next, ...rest] = task.pendingSteps;
  if (next) return { kind: 'next', steps: [next, ...rest] };
  return { kind: 'end', ok: true };
}
