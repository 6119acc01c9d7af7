import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EventKind, TaskResultEventSchema, type TaskResultEvent } from '@oblako/contracts';
import { TaskRunner } from '../operations/task-runner.service.js';
import { NodeEventHandlers, type NodeEventHandler } from './event-handlers.js';

/** A command finished on the node: its operation decides what follows (next step, retry, or the end). */
@Injectable()
export class TaskResultHandler implements NodeEventHandler<TaskResultEvent>, OnModuleInit {
  readonly kind = EventKind.TaskResult;
  readonly schema = TaskResultEventSchema;

  constructor(
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  handle(nodeId: string, e: TaskResultEvent): Promise<void> {
    return this.runner.onResult(nodeId, e);
  }
}
