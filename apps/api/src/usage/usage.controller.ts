import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { IsIn, IsOptional } from 'class-validator';
import { StaffOnly, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentTenant } from '../common/request-context.js';
import { USAGE_RANGES, UsageService, type UsagePoint, type UsageRange, type UsageSeries, type UsageTotals } from './usage.service.js';

export class UsageQuery {
  @ApiPropertyOptional({ enum: USAGE_RANGES, default: '24h' })
  @IsOptional()
  @IsIn(USAGE_RANGES, { message: `range must be one of ${USAGE_RANGES.join(', ')}` })
  range?: UsageRange;
}

export class UsagePointDto implements UsagePoint {
  @ApiProperty({ format: 'date-time', description: 'End of the interval' }) t: string;
  @ApiProperty({ description: 'Seconds of samples behind the point' }) seconds: number;
  @ApiProperty({ description: "Percent of the server's vCPUs (node: of one core)" }) cpuPercent: number;
  @ApiProperty({ description: 'Bits per second to the guest' }) netInBps: number;
  @ApiProperty({ description: 'Bits per second from the guest' }) netOutBps: number;
  @ApiProperty({ description: 'Bytes per second' }) diskReadBps: number;
  @ApiProperty({ description: 'Bytes per second' }) diskWriteBps: number;
  @ApiProperty() diskReadIops: number;
  @ApiProperty() diskWriteIops: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Memory in use as the guest reports it' }) memoryBytes: number | null;
  @ApiPropertyOptional({ description: 'Node graphs: servers with samples in the interval' }) servers?: number;
}

export class UsageTotalsDto implements UsageTotals {
  @ApiProperty() netInBytes: number;
  @ApiProperty() netOutBytes: number;
  @ApiProperty() diskReadBytes: number;
  @ApiProperty() diskWriteBytes: number;
  @ApiProperty() cpuSeconds: number;
}

export class UsageSeriesDto implements UsageSeries {
  @ApiProperty({ enum: USAGE_RANGES }) range: UsageRange;
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ type: [UsagePointDto] }) points: UsagePointDto[];
  @ApiProperty({ type: UsageTotalsDto }) totals: UsageTotalsDto;
}

@ApiTags('servers')
@Controller('api/v1/servers')
@TenantScoped(Permission.ServersRead)
export class UsageController {
  constructor(@Inject(UsageService) private readonly usage: UsageService) {}

  @Get(':id/usage')
  @ApiOperation({ summary: 'Usage graph of a server: CPU %, network bits/s in and out, disk bytes/s and IOPS (1h: per minute, 24h: per 5 minutes, 7d and 30d: per hour)' })
  @ApiOkResponse({ type: UsageSeriesDto })
  get(@CurrentTenant() tenantId: string, @UuidParam() id: string, @Query() q: UsageQuery): Promise<UsageSeries> {
    return this.usage.ofServer(tenantId, id, q.range ?? '24h');
  }
}

@ApiTags('admin')
@Controller('api/v1/admin/nodes')
@StaffOnly(Permission.FleetManage)
export class AdminNodeUsageController {
  constructor(@Inject(UsageService) private readonly usage: UsageService) {}

  @Get(':id/usage')
  @ApiOperation({ summary: "Usage graph of a node: its servers' CPU (percent of one core), network and disk, summed, and the count of servers" })
  @ApiOkResponse({ type: UsageSeriesDto })
  get(@UuidParam() id: string, @Query() q: UsageQuery): Promise<UsageSeries> {
    return this.usage.ofNode(id, q.range ?? '24h');
  }
}
