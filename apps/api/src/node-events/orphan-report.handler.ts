import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EventKind, OrphanReportSchema, type OrphanReport } from '@oblako/contracts';
import { NodeEventHandlers, type NodeEventHandler } from './event-handlers.js';
import { NodeOrphansService } from './orphans.service.js';

/** A node says what it did with a domain it was told is an orphan: recorded and audited (orphans.service.ts). */
@Injectable()
export class OrphanReportHandler implements NodeEventHandler<OrphanReport>, OnModuleInit {
  readonly kind = EventKind.OrphanReport;
  readonly schema = OrphanReportSchema;

  constructor(
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(NodeOrphansService) private readonly orphans: NodeOrphansService,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  handle(nodeId: string, r: OrphanReport): Promise<void> {
    return this.orphans.onReport(nodeId, r);
  }
}
