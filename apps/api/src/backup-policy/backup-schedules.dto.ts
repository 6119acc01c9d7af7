import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  BACKUP_FREQUENCIES, BACKUP_GRACE_DAYS_MAX, BACKUP_INCREMENTAL_CHAIN_MAX, RETENTION_MAX, type BackupFrequency, type BackupScheduleView, type BackupSettingsView, type NotStartedBackupView,
  type RetentionPolicy,
} from '@oblako/contracts';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsObject, Max, Min, ValidateIf, ValidateNested } from 'class-validator';

const whole = (field: string, min: number, max: number) => [
  IsInt({ message: `${field} must be a whole number from ${min} to ${max}` }),
  Min(min, { message: `${field} must be from ${min} to ${max}` }),
  Max(max, { message: `${field} must be from ${min} to ${max}` }),
];
const apply = (decorators: PropertyDecorator[]): PropertyDecorator => (target, key) => decorators.forEach((d) => d(target, key));

export class RetentionDto implements RetentionPolicy {
  @ApiProperty({ minimum: 1, maximum: RETENTION_MAX.keepLast, description: 'The newest N backups (at least 1: a server always keeps its newest)' })
  @apply(whole('retention.keepLast', 1, RETENTION_MAX.keepLast)) keepLast: number;
  @ApiProperty({ minimum: 0, maximum: RETENTION_MAX.keepDaily, description: 'The newest backup of each of the last N days that have one (UTC)' })
  @apply(whole('retention.keepDaily', 0, RETENTION_MAX.keepDaily)) keepDaily: number;
  @ApiProperty({ minimum: 0, maximum: RETENTION_MAX.keepWeekly, description: 'The newest backup of each of the last N ISO weeks that have one' })
  @apply(whole('retention.keepWeekly', 0, RETENTION_MAX.keepWeekly)) keepWeekly: number;
  @ApiProperty({ minimum: 0, maximum: RETENTION_MAX.keepMonthly, description: 'The newest backup of each of the last N months that have one' })
  @apply(whole('retention.keepMonthly', 0, RETENTION_MAX.keepMonthly)) keepMonthly: number;
}

export class BackupScheduleDto implements BackupScheduleView {
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ enum: BACKUP_FREQUENCIES }) frequency: BackupFrequency;
  @ApiProperty({ nullable: true, type: Number, description: '0 = Sunday ... 6 = Saturday (UTC); null when daily' }) weekday: number | null;
  @ApiProperty({ description: 'The window opens at this hour, UTC' }) windowStartHour: number;
  @ApiProperty() windowHours: number;
  @ApiProperty({ type: RetentionDto }) retention: RetentionDto;
  @ApiProperty({ description: 'Nothing saved yet: these are the defaults' }) isDefault: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) nextWindowAt: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastWindowAt: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why the last scheduled backup could not start (null when it did)' }) lastError: string | null;
}

export class PutBackupScheduleDto {
  @ApiProperty() @IsBoolean({ message: 'enabled must be true or false' }) enabled: boolean;
  @ApiProperty({ enum: BACKUP_FREQUENCIES }) @IsIn(BACKUP_FREQUENCIES, { message: 'frequency must be daily or weekly' }) frequency: BackupFrequency;
  @ApiPropertyOptional({ nullable: true, type: Number, minimum: 0, maximum: 6, description: 'Required when weekly: 0 = Sunday ... 6 = Saturday (UTC)' })
  @ValidateIf((o: PutBackupScheduleDto) => o.frequency === 'weekly' || (o.weekday !== undefined && o.weekday !== null))
  @apply(whole('weekday (0 = Sunday ... 6 = Saturday; required when weekly)', 0, 6)) weekday?: number | null;
  @ApiProperty({ minimum: 0, maximum: 23 }) @apply(whole('windowStartHour (UTC)', 0, 23)) windowStartHour: number;
  @ApiProperty({ minimum: 1, maximum: 23 }) @apply(whole('windowHours', 1, 23)) windowHours: number;
  @ApiProperty({ type: RetentionDto }) @IsObject({ message: 'retention must be an object: { keepLast, keepDaily, keepWeekly, keepMonthly }' }) @ValidateNested() @Type(() => RetentionDto) retention: RetentionDto;
}

export class BackupSettingsDto implements BackupSettingsView {
  @ApiProperty({ minimum: 0, maximum: BACKUP_GRACE_DAYS_MAX, description: 'Backups of a deleted server are kept this many days (0: removed with the server)' })
  @apply(whole('deletedServerGraceDays', 0, BACKUP_GRACE_DAYS_MAX)) deletedServerGraceDays: number;
  @ApiPropertyOptional({ minimum: 1, maximum: BACKUP_INCREMENTAL_CHAIN_MAX, description: 'Backups one chain may hold (a full one and its incrementals) before a new full chain starts; 1 = every backup full. Left out: kept as stored (default 7)' })
  @ValidateIf((o: BackupSettingsDto) => o.incrementalChainMax !== undefined)
  @apply(whole('incrementalChainMax', 1, BACKUP_INCREMENTAL_CHAIN_MAX)) incrementalChainMax?: number;
}


export class NotStartedBackupDto implements NotStartedBackupView {
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty() hostname: string;
  @ApiProperty({ description: 'The server\'s state now' }) serverState: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() tenantName: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) nodeId: string | null;
  @ApiProperty({ nullable: true, type: String }) nodeName: string | null;
  @ApiProperty() locationName: string;
  @ApiProperty({ format: 'date-time', description: 'The window whose backup could not start (its opening)' }) windowAt: string;
  @ApiProperty({ format: 'date-time', description: 'The next window: the backup is tried again then' }) nextWindowAt: string;
  @ApiProperty({ description: 'Why it could not start' }) reason: string;
}
