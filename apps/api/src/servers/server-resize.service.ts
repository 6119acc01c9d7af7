import { Inject, Injectable } from '@nestjs/common';
import type { PlanView, ServerView } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { PlanEntity } from '../catalogue/catalogue.entities.js';
import { planView } from '../catalogue/catalogue.service.js';
import type { Actor } from '../common/request-context.js';
import { resizeRefusal, type ResizeInput } from '../operations/resize.operation.js';
import { TaskRunner } from '../operations/task-runner.service.js';
import { ServerEntity } from './server.entities.js';
import { ServerViewsService } from './server-views.service.js';
import { ServerError } from './servers.errors.js';

/** One plan as a resize choice: whether it may be chosen now, and if not, why. */
export interface ResizeChoice {
  plan: PlanView;
  allowed: boolean;
  reason: string | null;
}

/** Resize a server to another plan (the resize operation) and the choices a customer or staff has. */
@Injectable()
export class ServerResizeService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TaskRunner) private readonly runner: TaskRunner,
    @Inject(ServerViewsService) private readonly views: ServerViewsService,
  ) {}

  /** `tenantId` null: staff, on any tenant's server, to any plan. */
  async resize(tenantId: string | null, actor: Actor, serverId: string, planId: string, acceptedAt: number): Promise<ServerView> {
    const input: ResizeInput = { planId, staff: tenantId === null };
    const started = await this.runner.run({ serverId, ...(tenantId ? { tenantId } : {}) }, 'resize', actor, input, acceptedAt);
    return this.views.get(started.server.tenantId, serverId);
  }

  /** Every plan (customers: those on sale), each with whether this server may move to it and why not. */
  async choices(tenantId: string | null, serverId: string): Promise<ResizeChoice[]> {
    const server = await this.ds.manager.findOneBy(ServerEntity, { id: serverId, ...(tenantId ? { tenantId } : {}) });
    if (!server || server.state === 'deleted') throw new ServerError('server_not_found', 'No server with that id in this team.');
    const plans = await this.ds.manager.find(PlanEntity, { where: tenantId ? { active: true } : {}, order: { priceMonthlyCents: 'ASC', name: 'ASC' } });
    const current = await this.ds.manager.findOneBy(PlanEntity, { id: server.planId });
    return plans.map((plan) => {
      const refusal = resizeRefusal(server, plan, tenantId === null, current);
      return { plan: planView(plan), allowed: !refusal, reason: refusal?.reason ?? null };
    });
  }
}
