import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { BACKUP_KINDS, BACKUP_STATES, BACKUP_TRIGGERS, type BackupKind, type BackupState, type BackupTrigger, type BackupView, type TenantBackupView } from '@oblako/contracts';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { CreateServerDto } from '../servers/servers.dto.js';

export class BackupDto implements BackupView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty({ description: 'The server\'s name when the backup was taken' }) serverName: string;
  @ApiProperty({ format: 'uuid' }) storeId: string;
  @ApiProperty({ enum: BACKUP_STATES }) state: BackupState;
  @ApiProperty({ enum: BACKUP_KINDS, description: 'full: the whole disk; incremental: the clusters changed since parentId (a restore fetches the chain)' }) kind: BackupKind;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'The backup an incremental holds the changes since (null for a full one)' }) parentId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why a full backup started a new chain where an incremental could have followed' }) fullReason: string | null;
  @ApiProperty({ enum: BACKUP_TRIGGERS }) trigger: BackupTrigger;
  @ApiProperty({ description: 'Size of the backup file on the store (0 until ready)' }) sizeBytes: number;
  @ApiProperty({ description: 'The disk\'s size as the guest saw it, bytes: a plan for a restore into a new server needs at least this disk' }) virtualSizeBytes: number;
  @ApiProperty({ nullable: true, type: String, description: 'SHA-256 of the backup file, checked before a restore' }) sha256: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'How long the backup took, ms' }) durationMs: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why it failed' }) error: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'The task that made it (its progress)' }) taskId: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt: string | null;
}

export class TenantBackupDto extends BackupDto implements TenantBackupView {
  @ApiProperty({ description: 'The backed-up server has been deleted (the backup is kept until graceExpiresAt)' }) serverDeleted: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'When the scheduler deletes a deleted server\'s backup (its deletion plus the staff\'s grace days); null for a live server\'s' }) graceExpiresAt: string | null;
  @ApiProperty({ format: 'uuid', description: 'The location of the backup\'s store: a restore into a new server lands there' }) locationId: string;
}

export class ListTenantBackupsQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'Only backups of deleted servers (true) or of live ones (false); all without it' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'serverDeleted must be true or false' })
  serverDeleted?: 'true' | 'false';
}

/** The order's fields (no image: it is the backed-up server's; the location is the backup store's). */
export class RestoreToNewDto extends OmitType(CreateServerDto, ['imageId', 'locationId'] as const) {
  @ApiPropertyOptional({ format: 'uuid', description: 'Must be the backup\'s location (TenantBackupView.locationId) when given' })
  @IsOptional()
  @IsUUID('all', { message: 'locationId must be a location id (UUID) from GET /api/v1/locations' })
  locationId?: string;
}
