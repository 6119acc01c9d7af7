import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission, SERVER_STATES, type Page, type ServerState, type ServerView } from '@oblako/contracts';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { StaffOnly } from '../common/guards.js';
import { ListServersQuery, ServerPageDto } from './servers.dto.js';
import { ServerViewsService } from './server-views.service.js';

export class AdminListServersQuery extends ListServersQuery {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'tenantId must be a tenant id (UUID)' }) tenantId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'nodeId must be a node id (UUID)' }) nodeId?: string;
  @ApiPropertyOptional({ enum: SERVER_STATES, description: 'Without it, deleted servers are left out' })
  @IsOptional()
  @IsIn(SERVER_STATES, { message: `state must be one of ${SERVER_STATES.join(', ')}` })
  state?: ServerState;
}

/** Staff: every tenant's servers, e.g. what runs on a node or what is stuck in error. */
@ApiTags('admin: servers')
@Controller('api/v1/admin/servers')
@StaffOnly(Permission.TasksRead)
export class AdminServersController {
  constructor(@Inject(ServerViewsService) private readonly views: ServerViewsService) {}

  @Get()
  @ApiOkResponse({ type: ServerPageDto })
  list(@Query() q: AdminListServersQuery): Promise<Page<ServerView>> {
    return this.views.listForStaff({ tenantId: q.tenantId, nodeId: q.nodeId, state: q.state }, q.cursor, q.limit);
  }
}
