import { Body, Controller, Delete, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Permission, type ServerView, type SnapshotView } from '@oblako/contracts';
import { RequirePermission, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { ServerDto } from '../servers/servers.dto.js';
import { CreateSnapshotDto, SnapshotDto } from './snapshots.dto.js';
import { SnapshotsService } from './snapshots.service.js';

@ApiTags('servers')
@Controller('api/v1/servers/:id/snapshots')
@TenantScoped(Permission.ServersRead)
export class SnapshotsController {
  constructor(@Inject(SnapshotsService) private readonly snapshots: SnapshotsService) {}

  @Get()
  @ApiOkResponse({ type: [SnapshotDto] })
  list(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<SnapshotView[]> {
    return this.snapshots.list(tenantId, id);
  }

  @Post()
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: SnapshotDto, description: 'Accepted: the snapshot is creating (the server snapshotting) until its node confirms.' })
  create(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: CreateSnapshotDto): Promise<SnapshotView> {
    return this.snapshots.create(tenantId, actor, id, dto.name, dto.expiresInHours);
  }

  @Post(':snapshotId/revert')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted: the server is snapshotting until its node has reverted it.' })
  revert(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @UuidParam('snapshotId') snapshotId: string): Promise<ServerView> {
    return this.snapshots.revert(tenantId, actor, id, snapshotId);
  }

  @Delete(':snapshotId')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted: the snapshot is deleting until its node confirms.' })
  remove(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @UuidParam('snapshotId') snapshotId: string): Promise<ServerView> {
    return this.snapshots.remove(tenantId, actor, id, snapshotId);
  }
}
