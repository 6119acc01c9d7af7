import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NAME_MAX_LENGTH, type SnapshotView } from '@oblako/contracts';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsNotBlank } from '../common/validators.js';

export class SnapshotDto implements SnapshotView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['creating', 'ready', 'deleting'] }) state: 'creating' | 'ready' | 'deleting';
  @ApiProperty({ description: 'Taken of a running or paused server: a revert brings its memory back too' }) withMemory: boolean;
  @ApiProperty({ description: 'What the snapshot added to the server\'s disk file on its node' }) sizeBytes: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expiresAt: string | null;
}

export class CreateSnapshotDto {
  @ApiProperty({ example: 'before upgrade' })
  @IsString() @IsNotBlank() @MaxLength(NAME_MAX_LENGTH)
  name: string;

  @ApiPropertyOptional({ description: 'Delete it by itself after this many hours (1 to 8760); absent: kept until deleted', minimum: 1, maximum: 8760 })
  @IsOptional() @IsInt({ message: 'expiresInHours must be a whole number of hours' }) @Min(1) @Max(8760)
  expiresInHours?: number;
}
