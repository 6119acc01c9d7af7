import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Post, Query, Sse, UseGuards, type MessageEvent } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Permission, type Page, type ServerView, type TaskView } from '@oblako/contracts';
import { filter, interval, map, merge, type Observable } from 'rxjs';
import { nowMs } from '../common/clock.js';
import { RequirePermission, TenantScoped, VerifiedEmailGuard } from '../common/guards.js';
import { idempotencyKeyOf, UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { ServerEventsBus } from './server-events.bus.js';
import { CreateServerDto, ListServersQuery, ResizeChoiceDto, ResizeServerDto, ServerActionDto, ServerDto, ServerPageDto, TaskDto } from './servers.dto.js';
import { ServerResizeService, type ResizeChoice } from './server-resize.service.js';
import { ServerActionsService } from './server-actions.service.js';
import { ServerOrdersService } from './server-orders.service.js';
import { ServerViewsService } from './server-views.service.js';

const SSE_PING_MS = 20_000;

@ApiTags('servers')
@Controller('api/v1/servers')
@TenantScoped(Permission.ServersRead)
export class ServersController {
  constructor(
    @Inject(ServerOrdersService) private readonly orders: ServerOrdersService,
    @Inject(ServerViewsService) private readonly views: ServerViewsService,
    @Inject(ServerActionsService) private readonly actions: ServerActionsService,
    @Inject(ServerEventsBus) private readonly bus: ServerEventsBus,
    @Inject(ServerResizeService) private readonly resizes: ServerResizeService,
  ) {}

  @Post()
  @RequirePermission(Permission.ServersWrite)
  @UseGuards(VerifiedEmailGuard)
  @ApiOperation({ summary: 'Order a server (needs a verified email address: 403 email_not_verified otherwise); it is placed and provisioned asynchronously (watch state and currentTask)' })
  @ApiCreatedResponse({ type: ServerDto })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Up to 128 printable characters. Retrying with the same key returns the first order instead of making a second server.' })
  create(
    @CurrentTenant() tenantId: string,
    @CurrentActor() actor: Actor,
    @Body() dto: CreateServerDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<ServerView> {
    const acceptedAt = nowMs();
    return this.orders.create(tenantId, actor, dto, acceptedAt, idempotencyKeyOf(idempotencyKey));
  }

  @Get()
  @ApiOkResponse({ type: ServerPageDto })
  list(@CurrentTenant() tenantId: string, @Query() q: ListServersQuery): Promise<Page<ServerView>> {
    return this.views.list(tenantId, q);
  }

  @Sse('events')
  @ApiOperation({ summary: "Server-sent events: one `server` event per change of this tenant's servers" })
  @ApiProduces('text/event-stream')
  events(@CurrentTenant() tenantId: string): Observable<MessageEvent> {
    const changes = this.bus.changes$.pipe(
      filter((c) => c.tenantId === tenantId),
      map((c): MessageEvent => ({ type: 'server', id: `${c.serverId}:${c.at}`, data: { serverId: c.serverId, state: c.state, task: c.task, at: c.at } })),
    );
    // A ping now and then keeps proxies from closing an idle stream.
    const pings = interval(SSE_PING_MS).pipe(map((): MessageEvent => ({ type: 'ping', data: { at: new Date().toISOString() } })));
    return merge(changes, pings);
  }

  @Get(':id')
  @ApiOkResponse({ type: ServerDto })
  get(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<ServerView> {
    return this.views.get(tenantId, id);
  }

  @Get(':id/tasks')
  @ApiOkResponse({ type: [TaskDto] })
  tasks(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<TaskView[]> {
    return this.views.tasks(tenantId, id);
  }

  @Post(':id/actions')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted; the server is in the transient state and currentTask tracks the work.' })
  act(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: ServerActionDto): Promise<ServerView> {
    return this.actions.act(tenantId, actor, id, dto.action, nowMs(), { imageId: dto.imageId, isoId: dto.isoId, sshKeyIds: dto.sshKeyIds, rootPassword: dto.rootPassword });
  }

  @Get(':id/resize-options')
  @ApiOperation({ summary: 'The plans this server may be resized to, each with the reason when it may not' })
  @ApiOkResponse({ type: [ResizeChoiceDto] })
  resizeOptions(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<ResizeChoice[]> {
    return this.resizes.choices(tenantId, id);
  }

  @Post(':id/resize')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiOperation({ summary: 'Move the server to a larger plan on sale (vCPU, memory, disk, limits; the guest restarts if running). 409 disk_shrink, plan_not_allowed, no_capacity or invalid_transition with the reason' })
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted; the server is resizing until the node confirms, then shows the new plan.' })
  resize(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: ResizeServerDto): Promise<ServerView> {
    return this.resizes.resize(tenantId, actor, id, dto.planId, nowMs());
  }

  @Delete(':id')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted; the server is deleting until the node confirms, then deleted.' })
  remove(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<ServerView> {
    return this.actions.act(tenantId, actor, id, 'delete', nowMs());
  }
}
