import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Post, Query, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Permission, type ServerView, type TenantBackupView } from '@oblako/contracts';
import { RequirePermission, TenantScoped, VerifiedEmailGuard } from '../common/guards.js';
import { idempotencyKeyOf, UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { ServerDto } from '../servers/servers.dto.js';
import { ListTenantBackupsQuery, RestoreToNewDto, TenantBackupDto } from './backups.dto.js';
import { TenantBackupsService } from './tenant-backups.service.js';

@ApiTags('backups')
@Controller('api/v1/backups')
@TenantScoped(Permission.ServersRead)
export class TenantBackupsController {
  constructor(@Inject(TenantBackupsService) private readonly backups: TenantBackupsService) {}

  @Get()
  @ApiOkResponse({ type: [TenantBackupDto], description: 'The team\'s backups across its servers, newest first; ?serverDeleted=true: only those of deleted servers (restorable into a new server until graceExpiresAt).' })
  list(@CurrentTenant() tenantId: string, @Query() q: ListTenantBackupsQuery): Promise<TenantBackupView[]> {
    return this.backups.list(tenantId, q.serverDeleted === undefined ? undefined : q.serverDeleted === 'true');
  }

  @Post(':id/restore-to-new')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @UseGuards(VerifiedEmailGuard)
  @ApiOperation({ summary: 'Restore a backup (also a deleted server\'s, within its grace) into a new server: an order of a server whose disk is the backup (409 plan_disk_too_small, backup_expired, backup_not_ready, backup_other_location)' })
  @ApiAcceptedResponse({ type: ServerDto, description: 'Accepted: the new server, provisioning (or pending_payment with a checkoutUrl when billing is on).' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'As for an order: retrying with the same key returns the first server.' })
  restoreToNew(
    @CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: RestoreToNewDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<ServerView> {
    return this.backups.restoreToNew(tenantId, actor, id, dto, idempotencyKeyOf(idempotencyKey));
  }

  @Delete(':id')
  @HttpCode(202)
  @RequirePermission(Permission.ServersWrite)
  @ApiOperation({ summary: 'Delete one of the team\'s backups from its store, also a deleted server\'s (409 backup_in_use while a server is being created from it)' })
  @ApiAcceptedResponse({ type: TenantBackupDto, description: 'Accepted: the backup is deleting until a node confirms the file is gone from the store.' })
  remove(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<TenantBackupView> {
    return this.backups.remove(tenantId, actor, id);
  }
}
