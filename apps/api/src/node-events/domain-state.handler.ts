import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DomainStateEventSchema, EventKind, type DomainStateEvent, type ServerState } from '@oblako/contracts';
import { TaskRunner } from '../operations/task-runner.service.js';
import { NodeEventHandlers, type NodeEventHandler } from './event-handlers.js';

const FOLLOWS: Partial<Record<DomainStateEvent['state'], ServerState>> = { running: 'running', shutoff: 'stopped', crashed: 'error' };

/** The guest changed state by itself (shut down from inside, crashed): the server follows when no task runs. */
@Injectable()
export class DomainStateHandler implements NodeEventHandler<DomainStateEvent>, OnModuleInit {
  readonly kind = EventKind.DomainState;
  readonly schema = DomainStateEventSchema;

  constructor(
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async handle(nodeId: string, e: DomainStateEvent): Promise<void> {
    const target = FOLLOWS[e.state];
    if (target) await this.runner.followGuest(nodeId, e.serverId, target, e.at);
  }
}
