import { Body, Controller, Get, Inject, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Permission, type BackupScheduleView, type BackupSettingsView, type NotStartedBackupView } from '@oblako/contracts';
import { RequirePermission, StaffOnly, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { BackupScheduleDto, BackupSettingsDto, NotStartedBackupDto, PutBackupScheduleDto } from './backup-schedules.dto.js';
import { BackupSchedulesService } from './backup-schedules.service.js';

@ApiTags('servers')
@Controller('api/v1/servers/:id/backup-schedule')
@TenantScoped(Permission.ServersRead)
export class BackupScheduleController {
  constructor(@Inject(BackupSchedulesService) private readonly schedules: BackupSchedulesService) {}

  @Get()
  @ApiOkResponse({ type: BackupScheduleDto, description: 'The saved schedule, or the defaults (isDefault) when none is saved.' })
  get(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<BackupScheduleView> {
    return this.schedules.get(tenantId, id);
  }

  @Put()
  @RequirePermission(Permission.ServersWrite)
  @ApiOperation({ summary: 'Set when the server is backed up (a daily or weekly window, UTC) and how many backups it keeps (audited)' })
  @ApiOkResponse({ type: BackupScheduleDto })
  put(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: PutBackupScheduleDto): Promise<BackupScheduleView> {
    return this.schedules.put(tenantId, actor, id, dto);
  }
}

@ApiTags('admin: settings')
@Controller('api/v1/admin/settings/backups')
@StaffOnly(Permission.SettingsManage)
export class AdminBackupSettingsController {
  constructor(@Inject(BackupSchedulesService) private readonly schedules: BackupSchedulesService) {}

  @Get() @ApiOkResponse({ type: BackupSettingsDto })
  get(): Promise<BackupSettingsView> { return this.schedules.settings(); }

  @Put()
  @ApiOperation({ summary: 'How many days the backups of a deleted server are kept (audited)' })
  @ApiOkResponse({ type: BackupSettingsDto })
  put(@CurrentActor() actor: Actor, @Body() dto: BackupSettingsDto): Promise<BackupSettingsView> { return this.schedules.saveSettings(actor, dto); }
}

/** Staff: scheduled backups that never started (no task, so not among the failed tasks). */
@ApiTags('admin: servers')
@Controller('api/v1/admin/backups/not-started')
@StaffOnly(Permission.TasksRead)
export class AdminNotStartedBackupsController {
  constructor(@Inject(BackupSchedulesService) private readonly schedules: BackupSchedulesService) {}

  @Get()
  @ApiOperation({ summary: 'Live servers whose scheduled backup could not start in its last window, with the reason, across tenants (newest window first, at most 500)' })
  @ApiOkResponse({ type: [NotStartedBackupDto] })
  list(): Promise<NotStartedBackupView[]> { return this.schedules.notStarted(); }
}
