import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IMAGE_NODE_STATES, NAME_MAX_LENGTH, type ImageNodeState, type ImageNodeStateView, type ImageView, type LocationView, type PlanView } from '@oblako/contracts';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { IsNotBlank } from '../common/validators.js';

export class LocationDto implements LocationView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'fra1' }) code: string;
  @ApiProperty({ example: 'Frankfurt 1' }) name: string;
  @ApiProperty({ example: 'DE' }) country: string;
}

export class CreateLocationDto {
  @ApiProperty({ example: 'fra1' })
  @Matches(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: 'code must be 1-32 lower-case letters, digits and hyphens, e.g. fra1' })
  code: string;

  @ApiProperty({ example: 'Frankfurt 1' })
  @IsString()
  @IsNotBlank()
  @MaxLength(NAME_MAX_LENGTH)
  name: string;

  @ApiProperty({ example: 'DE', description: 'ISO 3166-1 alpha-2 country code' })
  @Matches(/^[A-Z]{2}$/, { message: 'country must be a two-letter ISO country code in capitals, e.g. DE' })
  country: string;
}
export class UpdateLocationDto extends PartialType(CreateLocationDto) {}

export class PlanDto implements PlanView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() vcpus: number;
  @ApiProperty() memoryMiB: number;
  @ApiProperty() diskGiB: number;
  @ApiProperty() cpuQuotaPercent: number;
  @ApiProperty({ description: '0 = unlimited' }) diskIops: number;
  @ApiProperty({ description: '0 = unlimited' }) diskMBps: number;
  @ApiProperty({ description: '0 = unlimited' }) netMbit: number;
  @ApiProperty({ description: '0 = unlimited' }) trafficGiB: number;
  @ApiProperty({ enum: ['in', 'out', 'both'] }) trafficDirection: 'in' | 'out' | 'both';
  @ApiProperty({ enum: ['calendar', 'anniversary'] }) trafficPeriod: 'calendar' | 'anniversary';
  @ApiProperty({ description: 'Mbit/s once the traffic allowance is used up' }) overQuotaMbit: number;
  @ApiProperty({ description: 'Cents per month (an hourly plan: 730 hours of it, for comparison only)' }) priceMonthlyCents: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Cents per started hour for a plan billed by the hour; null = billed monthly' }) priceHourlyCents: number | null;
  @ApiProperty({ example: 'EUR' }) currency: string;
  @ApiProperty() active: boolean;
  @ApiProperty({ description: 'Snapshots a server of this plan may keep' }) maxSnapshots: number;
}

export class CreatePlanDto {
  @ApiProperty({ example: 'Small' }) @IsString() @IsNotBlank() @MaxLength(NAME_MAX_LENGTH) name: string;
  @ApiProperty({ minimum: 1, maximum: 256 }) @IsInt() @Min(1) @Max(256) vcpus: number;
  @ApiProperty({ minimum: 64 }) @IsInt() @Min(64) @Max(4 * 1024 * 1024) memoryMiB: number;
  @ApiProperty({ minimum: 1 }) @IsInt() @Min(1) @Max(65536) diskGiB: number;
  @ApiPropertyOptional({ default: 100 }) @IsOptional() @IsInt() @Min(1) @Max(100) cpuQuotaPercent?: number;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @IsInt() @Min(0) @Max(10_000_000) diskIops?: number;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @IsInt() @Min(0) @Max(100_000) diskMBps?: number;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @IsInt() @Min(0) @Max(1_000_000) netMbit?: number;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @IsInt() @Min(0) @Max(10_000_000) trafficGiB?: number;
  @ApiPropertyOptional({ enum: ['in', 'out', 'both'], default: 'both' }) @IsOptional() @IsIn(['in', 'out', 'both'], { message: 'trafficDirection must be one of in, out, both' }) trafficDirection?: 'in' | 'out' | 'both';
  @ApiPropertyOptional({ enum: ['calendar', 'anniversary'], default: 'calendar' }) @IsOptional() @IsIn(['calendar', 'anniversary'], { message: 'trafficPeriod must be one of calendar, anniversary' }) trafficPeriod?: 'calendar' | 'anniversary';
  @ApiPropertyOptional({ default: 10, minimum: 1 }) @IsOptional() @IsInt() @Min(1) @Max(1_000_000) overQuotaMbit?: number;
  @ApiPropertyOptional({ description: 'Cents per month. Required for a monthly plan; leave out for an hourly one (it is then 730 hours of priceHourlyCents)' })
  @ValidateIf((o: CreatePlanDto) => o.priceHourlyCents === undefined || o.priceHourlyCents === null || o.priceMonthlyCents !== undefined)
  @IsInt({ message: 'priceMonthlyCents must be a whole number of cents (or give priceHourlyCents for a plan billed by the hour)' }) @Min(0) @Max(100_000_000)
  priceMonthlyCents?: number;
  @ApiPropertyOptional({ nullable: true, type: Number, minimum: 1, maximum: 1_000_000, description: 'Cents per started hour: the plan is billed by the hour (metered). Fixed when the plan is created.' })
  @IsOptional() @IsInt({ message: 'priceHourlyCents must be a whole number of cents' }) @Min(1, { message: 'priceHourlyCents must be at least 1 cent' }) @Max(1_000_000)
  priceHourlyCents?: number | null;
  @ApiPropertyOptional({ default: 'EUR' }) @IsOptional() @Matches(/^[A-Z]{3}$/, { message: 'currency must be a three-letter ISO code in capitals, e.g. EUR' }) currency?: string;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() active?: boolean;
  @ApiPropertyOptional({ default: 3, minimum: 0, maximum: 100, description: 'Snapshots a server of this plan may keep' }) @IsOptional() @IsInt() @Min(0) @Max(100) maxSnapshots?: number;
}
export class UpdatePlanDto extends PartialType(CreatePlanDto) {}

export class ImageDto implements ImageView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Debian 12' }) name: string;
  @ApiProperty({ example: 'debian' }) osFamily: string;
  @ApiProperty({ example: '12' }) version: string;
  @ApiProperty() active: boolean;
  @ApiProperty({ enum: ['disk', 'direct-kernel'], nullable: true, type: String, description: 'disk: its own bootloader; direct-kernel: the node\'s kernel; null: the node decides' })
  bootMode: 'disk' | 'direct-kernel' | null;
  @ApiProperty({ nullable: true, type: String, example: 'debian', description: 'The login cloud-init creates; it gets the order\'s SSH keys (null: root)' })
  defaultUser: string | null;
  @ApiProperty({ description: 'The image ships qemu-guest-agent: a root password can be reset on its running servers' })
  guestAgent: boolean;
  @ApiProperty({ description: 'Smallest plan disk (GiB) staff allow for this image; 0 = none' }) minDiskGiB: number;
  @ApiProperty({ description: 'Smallest plan memory (MiB) staff allow for this image; 0 = none' }) minMemoryMiB: number;
  @ApiProperty({ nullable: true, type: Number, description: 'The disk a guest sees (bytes, qemu-img virtual-size) as a node reported it for the current sha256; a plan disk must be at least this. Null until a node verified it' })
  virtualSizeBytes: number | null;
}

export class AdminImageDto extends ImageDto {
  @ApiProperty() url: string;
  @ApiProperty() sha256: string;
  @ApiProperty({ enum: ['qcow2', 'raw'] }) format: 'qcow2' | 'raw';
}

export class CreateImageDto {
  @ApiProperty({ example: 'Debian 12' }) @IsString() @IsNotBlank() @MaxLength(NAME_MAX_LENGTH) name: string;
  @ApiProperty({ example: 'debian' }) @Matches(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: 'osFamily must be lower-case letters, digits and hyphens, e.g. debian' }) osFamily: string;
  @ApiProperty({ example: '12' }) @Matches(/^[A-Za-z0-9._-]{1,32}$/, { message: 'version may contain letters, digits, ".", "_" and "-" (up to 32)' }) version: string;
  @ApiProperty({ description: 'Where nodes fetch the base image: http(s):// or file://' })
  @IsUrl({ protocols: ['http', 'https', 'file'], require_tld: false, require_host: false, require_protocol: true }, { message: 'url must be an http(s):// or file:// URL' })
  @MaxLength(2048)
  url: string;
  @ApiProperty({ description: 'Lower-case hex SHA-256 of the file' }) @Matches(/^[a-f0-9]{64}$/, { message: 'sha256 must be 64 lower-case hex digits' }) sha256: string;
  @ApiProperty({ enum: ['qcow2', 'raw'] }) @IsIn(['qcow2', 'raw']) format: 'qcow2' | 'raw';
  @ApiPropertyOptional({ enum: ['disk', 'direct-kernel'], description: 'disk: the image has a bootloader; direct-kernel: it needs the node\'s kernel; absent: the node decides' })
  @IsOptional() @IsIn(['disk', 'direct-kernel'], { message: 'bootMode must be disk or direct-kernel' }) bootMode?: 'disk' | 'direct-kernel';
  @ApiPropertyOptional({ example: 'debian', description: 'The login cloud-init creates in this image' })
  @IsOptional() @Matches(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'defaultUser must be a Linux user name: lower-case letters, digits, "_" and "-", up to 32' }) defaultUser?: string;
  @ApiPropertyOptional({ default: false, description: 'The image ships qemu-guest-agent (password reset, clean shutdown, fsfreeze)' })
  @IsOptional() @IsBoolean({ message: 'guestAgent must be true or false' }) guestAgent?: boolean;
  @ApiPropertyOptional({ default: 0, minimum: 0, maximum: 65536, description: 'Smallest plan disk in GiB (0 = none): a smaller plan is refused with 409 plan_too_small' })
  @IsOptional() @IsInt({ message: 'minDiskGiB must be a whole number of GiB' }) @Min(0, { message: 'minDiskGiB must be 0 or more' }) @Max(65536, { message: 'minDiskGiB must be at most 65536' }) minDiskGiB?: number;
  @ApiPropertyOptional({ default: 0, minimum: 0, description: 'Smallest plan memory in MiB (0 = none): a smaller plan is refused with 409 plan_too_small' })
  @IsOptional() @IsInt({ message: 'minMemoryMiB must be a whole number of MiB' }) @Min(0, { message: 'minMemoryMiB must be 0 or more' }) @Max(4 * 1024 * 1024, { message: 'minMemoryMiB must be at most 4194304' }) minMemoryMiB?: number;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() active?: boolean;
}
export class UpdateImageDto extends PartialType(CreateImageDto) {}

export class ImageNodeStateDto implements ImageNodeStateView {
  @ApiProperty({ format: 'uuid' }) nodeId: string;
  @ApiProperty() nodeName: string;
  @ApiProperty({ format: 'uuid' }) locationId: string;
  @ApiProperty({ enum: IMAGE_NODE_STATES, description: 'unverified: never checked for the current sha256; verifying: asked; verified: fetched and checked; failed: see reason' })
  state: ImageNodeState;
  @ApiProperty({ nullable: true, type: String, description: 'Why the last check failed' }) reason: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) checkedAt: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) requestedAt: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'While verifying: bytes the node has fetched so far (null before its first report)' }) progressBytes: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'While verifying: the whole file in bytes, when the source says' }) progressTotal: number | null;
}
