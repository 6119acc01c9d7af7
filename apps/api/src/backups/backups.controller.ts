import { Controller, Delete, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Permission, type BackupView, type ServerView } from '@oblako/contracts';
import { RequirePermission, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { ServerDto } from '../servers/servers.dto.js';
import { BackupDto } from './backups.dto.js';
import { BackupsService } from './backups.service.js';

@ApiTags('servers')
@Controller('api/v1/servers/:id/backups')
@TenantScoped(Permission.ServersRead)
export class BackupsController {
  constructor(@Inject(BackupsService) private readonly backups: BackupsService) {}

  @Get()
  @ApiOkResponse({ type: [BackupDto], description: 'The server\'s backups, newest first (a deleted server\'s too, while they are kept).' })
  list(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<BackupView[]> {
    return this.backups.list(tenantId, id);
  }

  @Get(':backupId')
  @ApiOkResponse({ type: BackupDto })
  get(@CurrentTenant() tenantId: string, @UuidParam() id: string, @UuidParam('backupId') backupId: string): Promise<BackupView> {
    return this.backups.get(tenantId, id, backupId);
  }

  @Post()
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: BackupDto, description: 'Accepted: a full backup is pending (the server backing_up) until its node reports. 409 no_backup_store when the location has no enabled store.' })
  create(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<BackupView> {
    return this.backups.create(tenantId, actor, id);
  }

  @Post(':backupId/restore')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted: the server is restoring; its node checks the backup\'s checksum, then replaces the disk in place.' })
  restore(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @UuidParam('backupId') backupId: string): Promise<ServerView> {
    return this.backups.restore(tenantId, actor, id, backupId);
  }

  @Delete(':backupId')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted: the backup is deleting from its store until the node confirms.' })
  remove(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @UuidParam('backupId') backupId: string): Promise<ServerView> {
    return this.backups.remove(tenantId, actor, id, backupId);
  }
}
