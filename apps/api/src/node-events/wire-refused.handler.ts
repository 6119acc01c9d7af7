import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DomainState, EventKind, TASK_OPS, WIRE_VERSION, WireRefusalSchema, type TaskOp, type WireRefusal } from '@oblako/contracts';
import { nowMs } from '../common/clock.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { NodeEventHandlers, type NodeEventHandler } from './event-handlers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The node's daemon speaks another wire version and refused a command before any of it ran
 * (frozen format, contracts `wire.ts`): the task fails at once with the daemon's reason (which
 * part to upgrade), through the runner like any failed result, instead of waiting for the timeout.
 */
@Injectable()
export class WireRefusedHandler implements NodeEventHandler<WireRefusal>, OnModuleInit {
  private readonly logger = new Logger('WireVersion');
  readonly kind = EventKind.WireRefused;
  readonly schema = WireRefusalSchema;

  constructor(
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async handle(nodeId: string, r: WireRefusal): Promise<void> {
    this.logger.error(`Node ${nodeId} refused task ${r.taskId ?? '?'} (${r.op ?? '?'}): ${r.message}`);
    if (!r.taskId || !r.serverId || !UUID.test(r.taskId) || !UUID.test(r.serverId) || !r.op || !(TASK_OPS as readonly string[]).includes(r.op)) return;
    const at = nowMs();
    await this.runner.onResult(nodeId, {
      v: WIRE_VERSION, taskId: r.taskId, serverId: r.serverId, nodeId, op: r.op as TaskOp, ok: false,
      error: { code: 'wire_version_mismatch', message: r.message.slice(0, 4000) },
      domainState: DomainState.Other, timings: { receivedAt: at, finishedAt: at, steps: {} }, at,
    });
  }
}
