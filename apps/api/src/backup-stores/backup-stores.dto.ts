import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { BACKUP_BASE_PATH_MAX_LENGTH, BACKUP_STORE_KINDS, BACKUP_USERNAME_PATTERN, NAME_MAX_LENGTH, type BackupStoreKind, type BackupStoreView } from '@oblako/contracts';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsNotBlank } from '../common/validators.js';

export class BackupStoreDto implements BackupStoreView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) locationId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: BACKUP_STORE_KINDS }) kind: BackupStoreKind;
  @ApiProperty({ example: 'backup1.example.net' }) host: string;
  @ApiProperty({ example: 22 }) port: number;
  @ApiProperty({ example: 'oblako' }) username: string;
  @ApiProperty({ example: '/srv/oblako-backups' }) basePath: string;
  @ApiProperty({ description: 'The pinned host key as one known_hosts line: "<host or [host]:port> <type> <base64>"' }) hostKey: string;
  @ApiProperty({ example: 'SHA256:3z5I4X1SF9zKeDaFaqfg8vkw9rgz6kDqDQHquVJNkiU' }) hostKeyFingerprint: string;
  @ApiProperty({ description: 'Disabled stores take no new backups; their backups stay restorable' }) enabled: boolean;
  @ApiProperty({ description: 'Backups held on the store: a store with any cannot be deleted, only disabled' }) backupCount: number;
  @ApiProperty({ description: 'Of those, the ready (restorable) ones' }) readyBackupCount: number;
  @ApiProperty({ description: 'Bytes the ready backups take on the store (their recorded sizes)' }) usedBytes: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

const HOST_MESSAGE = 'host must be a host name or an IP address of the store';
const KEY_HINT = 'the store\'s host key: one known_hosts line, e.g. the output of "ssh-keyscan -t ed25519 <host>", or the host\'s ssh_host_ed25519_key.pub';

export class CreateBackupStoreDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'locationId must be a location id (UUID)' }) locationId: string;
  @ApiProperty({ example: 'fra1-backup-1' }) @IsString() @IsNotBlank() @MaxLength(NAME_MAX_LENGTH) name: string;
  @ApiPropertyOptional({ enum: BACKUP_STORE_KINDS, default: 'sftp' }) @IsOptional() @IsIn(BACKUP_STORE_KINDS, { message: `kind must be one of ${BACKUP_STORE_KINDS.join(', ')}` }) kind?: BackupStoreKind;
  @ApiProperty({ example: 'backup1.example.net' }) @IsString({ message: HOST_MESSAGE }) @MaxLength(253) host: string;
  @ApiPropertyOptional({ default: 22, minimum: 1, maximum: 65535 }) @IsOptional() @IsInt({ message: 'port must be a whole number from 1 to 65535' }) @Min(1, { message: 'port must be from 1 to 65535' }) @Max(65535, { message: 'port must be from 1 to 65535' }) port?: number;
  @ApiProperty({ example: 'oblako' }) @IsString() @Matches(BACKUP_USERNAME_PATTERN, { message: 'username must be a login name on the store: a letter or _, then up to 31 letters, digits, ".", "_" or "-"' }) username: string;
  @ApiProperty({ example: '/srv/oblako-backups', description: 'Absolute folder on the store; letters, digits, ".", "_", "-" and "/" only, no ".." segments' })
  @IsString() @MaxLength(BACKUP_BASE_PATH_MAX_LENGTH) basePath: string;
  @ApiProperty({ description: `Required: ${KEY_HINT}` }) @IsString({ message: `hostKey is required: ${KEY_HINT}` }) @MaxLength(16384) hostKey: string;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean({ message: 'enabled must be true or false' }) enabled?: boolean;
}

export class UpdateBackupStoreDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotBlank() @MaxLength(NAME_MAX_LENGTH) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString({ message: HOST_MESSAGE }) @MaxLength(253) host?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 65535 }) @IsOptional() @IsInt({ message: 'port must be a whole number from 1 to 65535' }) @Min(1, { message: 'port must be from 1 to 65535' }) @Max(65535, { message: 'port must be from 1 to 65535' }) port?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(BACKUP_USERNAME_PATTERN, { message: 'username must be a login name on the store: a letter or _, then up to 31 letters, digits, ".", "_" or "-"' }) username?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(BACKUP_BASE_PATH_MAX_LENGTH) basePath?: string;
  @ApiPropertyOptional({ description: `A new pinned key: ${KEY_HINT}. Left out, the key stays (pinned again to a new host or port)` }) @IsOptional() @IsString() @MaxLength(16384) hostKey?: string;
  @ApiPropertyOptional({ description: 'false disables the store: no new backups go there' }) @IsOptional() @IsBoolean({ message: 'enabled must be true or false' }) enabled?: boolean;
}
