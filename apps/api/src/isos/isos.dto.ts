import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NAME_MAX_LENGTH, type AdminIsoView, type IsoView } from '@oblako/contracts';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, IsUrl, Matches, MaxLength } from 'class-validator';

export class IsoDto implements IsoView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() active: boolean;
}

export class AdminIsoDto extends IsoDto implements AdminIsoView {
  @ApiProperty() url: string;
  @ApiProperty() sha256: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class CreateIsoDto {
  @ApiProperty({ example: 'Debian 12 netinst' }) @IsString() @IsNotEmpty() @MaxLength(NAME_MAX_LENGTH) name: string;
  @ApiProperty({ example: 'https://cdimage.debian.org/.../debian-12-amd64-netinst.iso', description: 'Where nodes fetch it: http(s):// or file:// (a path on the node)' })
  @IsUrl({ protocols: ['http', 'https', 'file'], require_tld: false, require_host: false, require_protocol: true }, { message: 'url must be an http(s):// or file:// URL' })
  @MaxLength(2048)
  url: string;
  @ApiProperty({ description: 'Lower-case hex SHA-256 of the ISO file; nodes refuse a download that does not match' })
  @Matches(/^[a-f0-9]{64}$/, { message: 'sha256 must be 64 lower-case hex digits' })
  sha256: string;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() active?: boolean;
}

export class UpdateIsoDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(NAME_MAX_LENGTH) name?: string;
  @ApiPropertyOptional({ description: 'false deprecates it: no new boots, attached servers keep it' }) @IsOptional() @IsBoolean() active?: boolean;
}

