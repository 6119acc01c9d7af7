import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission, TASK_OPS, TASK_STATES, type Page, type ServerView, type TaskOp, type TaskState } from '@oblako/contracts';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { RequirePermission, StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import { AdminTaskActionsService } from './admin-task-actions.service.js';
import { AdminTasksService, type AdminTaskView } from './admin-tasks.service.js';
import { ListServersQuery, ServerDto, TaskDto } from './servers.dto.js';

export class AdminListTasksQuery extends ListServersQuery {
  @ApiPropertyOptional({ enum: TASK_STATES, description: 'e.g. failed; without it, tasks in every state' })
  @IsOptional()
  @IsIn(TASK_STATES, { message: `state must be one of ${TASK_STATES.join(', ')}` })
  state?: TaskState;
  @ApiPropertyOptional({ enum: TASK_OPS, description: 'e.g. backup_create with state=failed: the failed backups across tenants, with their reasons' })
  @IsOptional()
  @IsIn(TASK_OPS, { message: `op must be one of ${TASK_OPS.join(', ')}` })
  op?: TaskOp;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'tenantId must be a tenant id (UUID)' }) tenantId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'nodeId must be a node id (UUID)' }) nodeId?: string;
}

export class AdminTaskDto extends TaskDto implements AdminTaskView {
  @ApiProperty() hostname: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() tenantName: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) nodeId: string | null;
  @ApiProperty({ nullable: true, type: String }) nodeName: string | null;
  @ApiProperty({ description: 'The server state now (e.g. deleting for a server stuck there)' }) serverState: string;
}

export class AdminTaskPageDto implements Page<AdminTaskView> {
  @ApiProperty({ type: [AdminTaskDto] }) items: AdminTaskDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

/** Why staff act (kept in the audit log). */
export class StaffReasonDto {
  @ApiProperty({ description: 'Why (kept in the audit log), 3 to 500 characters', example: 'node hv2 repaired', minLength: 3, maxLength: 500 })
  @IsString({ message: 'reason is required: say why, in 3 to 500 characters' })
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(500, { message: 'reason must be at most 500 characters' })
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason: string;
}

/** Staff: tasks across all tenants, newest first — above all the failed ones with their errors. */
@ApiTags('admin: servers')
@Controller('api/v1/admin/tasks')
@StaffOnly(Permission.TasksRead)
export class AdminTasksController {
  constructor(
    @Inject(AdminTasksService) private readonly tasks: AdminTasksService,
    @Inject(AdminTaskActionsService) private readonly actions: AdminTaskActionsService,
  ) {}

  @Get()
  @ApiOkResponse({ type: AdminTaskPageDto })
  list(@Query() q: AdminListTasksQuery): Promise<Page<AdminTaskView>> {
    return this.tasks.list({ state: q.state, op: q.op, tenantId: q.tenantId, nodeId: q.nodeId }, q.cursor, q.limit);
  }

  @Post(':id/retry')
  @HttpCode(202)
  @RequirePermission(Permission.TasksManage)
  @ApiOperation({ summary: 'Run a failed task\'s operation again on its server (the newest task of that server only; not a create). Audited with the reason' })
  @ApiOkResponse({ type: ServerDto })
  retry(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: StaffReasonDto): Promise<ServerView> {
    return this.actions.retry(actor, id, dto.reason);
  }

  @Post(':id/cancel')
  @HttpCode(204)
  @RequirePermission(Permission.TasksManage)
  @ApiOperation({ summary: 'Fail a queued or running task now; its server goes where a failure takes it. Audited with the reason' })
  @ApiNoContentResponse()
  async cancel(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: StaffReasonDto): Promise<void> {
    await this.actions.cancel(actor, id, dto.reason);
  }
}
