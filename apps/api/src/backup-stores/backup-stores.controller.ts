import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Permission, type BackupStoreView } from '@oblako/contracts';
import { StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import { BackupStoreDto, CreateBackupStoreDto, UpdateBackupStoreDto } from './backup-stores.dto.js';
import { BackupStoresService } from './backup-stores.service.js';

@ApiTags('admin: backups')
@Controller('api/v1/admin/backup-stores')
@StaffOnly(Permission.FleetManage)
export class AdminBackupStoresController {
  constructor(@Inject(BackupStoresService) private readonly stores: BackupStoresService) {}

  @Get() @ApiOkResponse({ type: [BackupStoreDto] })
  list(): Promise<BackupStoreView[]> { return this.stores.list(); }

  @Get(':id') @ApiOkResponse({ type: BackupStoreDto })
  get(@UuidParam() id: string): Promise<BackupStoreView> { return this.stores.get(id); }

  @Post() @ApiCreatedResponse({ type: BackupStoreDto, description: 'The store (audited). Put each node\'s backupPublicKey into its authorized_keys.' })
  create(@CurrentActor() a: Actor, @Body() dto: CreateBackupStoreDto): Promise<BackupStoreView> { return this.stores.create(a, dto); }

  @Patch(':id') @ApiOkResponse({ type: BackupStoreDto, description: 'Changed fields (audited); enabled: false disables it.' })
  update(@CurrentActor() a: Actor, @UuidParam() id: string, @Body() dto: UpdateBackupStoreDto): Promise<BackupStoreView> { return this.stores.update(a, id, dto); }

  @Delete(':id') @HttpCode(204) @ApiNoContentResponse({ description: 'Deleted (audited); 409 backup_store_in_use while it holds backups: disable it instead.' })
  remove(@CurrentActor() a: Actor, @UuidParam() id: string): Promise<void> { return this.stores.remove(a, id); }
}
