import { ApiProperty } from '@nestjs/swagger';
import { BACKUP_KINDS, BACKUP_STATES, BACKUP_TRIGGERS, type BackupKind, type BackupState, type BackupTrigger, type BackupView } from '@oblako/contracts';

export class BackupDto implements BackupView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty({ description: 'The server\'s name when the backup was taken' }) serverName: string;
  @ApiProperty({ format: 'uuid' }) storeId: string;
  @ApiProperty({ enum: BACKUP_STATES }) state: BackupState;
  @ApiProperty({ enum: BACKUP_KINDS }) kind: BackupKind;
  @ApiProperty({ enum: BACKUP_TRIGGERS }) trigger: BackupTrigger;
  @ApiProperty({ description: 'Size of the backup file on the store (0 until ready)' }) sizeBytes: number;
  @ApiProperty({ nullable: true, type: String, description: 'SHA-256 of the backup file, checked before a restore' }) sha256: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'How long the backup took, ms' }) durationMs: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why it failed' }) error: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'The task that made it (its progress)' }) taskId: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt: string | null;
}
