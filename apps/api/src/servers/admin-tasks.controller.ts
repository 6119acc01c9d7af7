import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission, TASK_STATES, type Page, type TaskState } from '@oblako/contracts';
import { IsIn, IsOptional } from 'class-validator';
import { StaffOnly } from '../common/guards.js';
import { AdminTasksService, type AdminTaskView } from './admin-tasks.service.js';
import { ListServersQuery, TaskDto } from './servers.dto.js';

export class AdminListTasksQuery extends ListServersQuery {
  @ApiPropertyOptional({ enum: TASK_STATES, description: 'e.g. failed; without it, tasks in every state' })
  @IsOptional()
  @IsIn(TASK_STATES, { message: `state must be one of ${TASK_STATES.join(', ')}` })
  state?: TaskState;
}

export class AdminTaskDto extends TaskDto implements AdminTaskView {
  @ApiProperty() hostname: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) nodeId: string | null;
}

export class AdminTaskPageDto implements Page<AdminTaskView> {
  @ApiProperty({ type: [AdminTaskDto] }) items: AdminTaskDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

/** Staff: tasks across all tenants, newest first — above all the failed ones with their errors. */
@ApiTags('admin: servers')
@Controller('api/v1/admin/tasks')
@StaffOnly(Permission.TasksRead)
export class AdminTasksController {
  constructor(@Inject(AdminTasksService) private readonly tasks: AdminTasksService) {}

  @Get()
  @ApiOkResponse({ type: AdminTaskPageDto })
  list(@Query() q: AdminListTasksQuery): Promise<Page<AdminTaskView>> {
    return this.tasks.list(q.state, q.cursor, q.limit);
  }
}

