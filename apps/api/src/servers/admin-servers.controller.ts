import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission, SERVER_STATES, type Page, type ServerState, type ServerView } from '@oblako/contracts';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { DataSource } from 'typeorm';
import { RequirePermission, StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import { AdminTaskActionsService } from './admin-task-actions.service.js';
import { StaffReasonDto } from './admin-tasks.controller.js';
import { ListServersQuery, ResizeChoiceDto, ResizeServerDto, ServerDto } from './servers.dto.js';
import { ServerResizeService, type ResizeChoice } from './server-resize.service.js';
import { nowMs } from '../common/clock.js';
import { ServerViewsService } from './server-views.service.js';

export class AdminListServersQuery extends ListServersQuery {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'tenantId must be a tenant id (UUID)' }) tenantId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'nodeId must be a node id (UUID)' }) nodeId?: string;
  @ApiPropertyOptional({ enum: SERVER_STATES, description: 'Without it, deleted servers are left out' })
  @IsOptional()
  @IsIn(SERVER_STATES, { message: `state must be one of ${SERVER_STATES.join(', ')}` })
  state?: ServerState;
}

export interface AdminServerView extends ServerView {
  tenantName: string;
}

export class AdminServerDto extends ServerDto implements AdminServerView {
  @ApiProperty() tenantName: string;
}

export class AdminServerPageDto implements Page<AdminServerView> {
  @ApiProperty({ type: [AdminServerDto] }) items: AdminServerDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

/** Staff: every tenant's servers, e.g. what runs on a node or what is stuck in error. */
@ApiTags('admin: servers')
@Controller('api/v1/admin/servers')
@StaffOnly(Permission.TasksRead)
export class AdminServersController {
  constructor(
    @Inject(ServerViewsService) private readonly servers: ServerViewsService,
    @Inject(AdminTaskActionsService) private readonly actions: AdminTaskActionsService,
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ServerResizeService) private readonly resizes: ServerResizeService,
  ) {}

  @Get(':id/resize-options')
  @ApiOperation({ summary: 'Staff: every plan, on sale or not, each with the reason when this server may not move to it (a disk only grows)' })
  @ApiOkResponse({ type: [ResizeChoiceDto] })
  resizeOptions(@UuidParam() id: string): Promise<ResizeChoice[]> {
    return this.resizes.choices(null, id);
  }

  @Post(':id/resize')
  @HttpCode(202)
  @RequirePermission(Permission.TasksManage)
  @ApiOperation({ summary: 'Staff: move any server to any plan (a disk only grows); audited' })
  @ApiAcceptedResponse({ type: ServerDto })
  resize(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: ResizeServerDto): Promise<ServerView> {
    return this.resizes.resize(null, actor, id, dto.planId, nowMs());
  }

  @Get()
  @ApiOkResponse({ type: AdminServerPageDto })
  async list(@Query() q: AdminListServersQuery): Promise<Page<AdminServerView>> {
    const page = await this.servers.listForStaff({ tenantId: q.tenantId, nodeId: q.nodeId, state: q.state }, q);
    const ids = [...new Set(page.items.map((s) => s.tenantId))];
    const names: { id: string; name: string }[] = ids.length ? await this.ds.query('SELECT id, name FROM tenants WHERE id = ANY($1::uuid[])', [ids]) : [];
    const byId = new Map(names.map((t) => [t.id, t.name]));
    return { items: page.items.map((s) => ({ ...s, tenantName: byId.get(s.tenantId) ?? '' })), nextCursor: page.nextCursor };
  }

  @Post(':id/force-delete')
  @HttpCode(204)
  @RequirePermission(Permission.TasksManage)
  @ApiOperation({ summary: 'Mark a server stuck in deleting (or in error) deleted: its tasks fail, capacity and addresses are released. Audited with the reason' })
  @ApiNoContentResponse()
  async forceDelete(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: StaffReasonDto): Promise<void> {
    await this.actions.forceDelete(actor, id, dto.reason);
  }
}
