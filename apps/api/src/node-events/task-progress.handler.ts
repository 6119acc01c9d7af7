import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EventKind, TaskProgressEventSchema, type TaskProgressEvent } from '@oblako/contracts';
import { TaskRunner } from '../operations/task-runner.service.js';
import { NodeEventHandlers, type NodeEventHandler } from './event-handlers.js';

/** A step of a task began on the node: progress for the panel. */
@Injectable()
export class TaskProgressHandler implements NodeEventHandler<TaskProgressEvent>, OnModuleInit {
  readonly kind = EventKind.TaskProgress;
  readonly schema = TaskProgressEventSchema;

  constructor(
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  handle(nodeId: string, e: TaskProgressEvent): Promise<void> {
    return this.runner.onProgress(nodeId, e);
  }
}
