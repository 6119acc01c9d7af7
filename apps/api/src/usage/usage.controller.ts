import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { StaffReasonDto } from '../servers/admin-tasks.controller.js';
import { TrafficQuotaService, type TrafficView } from './traffic-quota.service.js';
import { StaffOnly, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { USAGE_RANGES, UsageService, type UsagePoint, type UsageRange, type UsageSeries, type UsageTotals } from './usage.service.js';

export class UsageQuery {
  @ApiPropertyOptional({ enum: USAGE_RANGES, default: '24h' })
  @IsOptional()
  @IsIn(USAGE_RANGES, { message: `range must be one of ${USAGE_RANGES.join(', ')}` })
  range?: UsageRange;
}

export class UsagePointDto implements UsagePoint {
  @ApiProperty({ format: 'date-time', description: 'End of the step the point covers' }) t: string;
  @ApiProperty({ description: 'Seconds of samples behind the point; 0 = a gap (not running or not metered), every rate null' }) seconds: number;
  @ApiProperty({ type: Number, nullable: true, description: "Percent of the server's vCPUs (node: of one core); null in a gap" }) cpuPercent: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Bits per second to the guest' }) netInBps: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Bits per second from the guest' }) netOutBps: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Bytes per second' }) diskReadBps: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Bytes per second' }) diskWriteBps: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Read operations per second' }) diskReadIops: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Write operations per second' }) diskWriteIops: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Memory in use as the guest reports it' }) memoryBytes: number | null;
  @ApiPropertyOptional({ description: 'Node graphs: servers with samples in the step' }) servers?: number;
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
  @ApiProperty({ description: 'Seconds between points: 60 (1h), 300 (24h), 3600 (7d, 30d)' }) stepSeconds: number;
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ type: [UsagePointDto], description: 'One point per step from `from` to `to`, oldest first (60, 288, 168 or 720); gaps included' }) points: UsagePointDto[];
  @ApiProperty({ type: UsageTotalsDto }) totals: UsageTotalsDto;
}

export class TrafficDto implements TrafficView {
  @ApiProperty({ enum: ['in', 'out', 'both'], description: 'Which traffic counts against the allowance' }) direction: 'in' | 'out' | 'both';
  @ApiProperty({ format: 'date-time' }) periodStart: string;
  @ApiProperty({ format: 'date-time', description: 'When the allowance starts again (and a throttle lifts)' }) resetsAt: string;
  @ApiProperty({ type: Number, nullable: true, description: "The plan's allowance plus traffic staff added; null = unlimited" }) allowanceBytes: number | null;
  @ApiProperty() extraBytes: number;
  @ApiProperty({ description: 'To the server this period' }) inBytes: number;
  @ApiProperty({ description: 'From the server this period' }) outBytes: number;
  @ApiProperty({ description: 'What counts against the allowance' }) usedBytes: number;
  @ApiProperty({ type: Number, nullable: true }) percent: number | null;
  @ApiProperty({ description: 'The network is slowed to the over-quota rate' }) throttled: boolean;
  @ApiProperty() overQuotaMbit: number;
}

export class AddTrafficDto extends StaffReasonDto {
  @ApiProperty({ minimum: 1, maximum: 1_000_000, description: 'GiB added to the current period' })
  @IsInt({ message: 'addGiB must be a whole number of GiB' })
  @Min(1, { message: 'addGiB must be at least 1' })
  @Max(1_000_000, { message: 'addGiB must be at most 1000000' })
  addGiB: number;
}

@ApiTags('servers')
@Controller('api/v1/servers')
@TenantScoped(Permission.ServersRead)
export class UsageController {
  constructor(
    @Inject(UsageService) private readonly usage: UsageService,
    @Inject(TrafficQuotaService) private readonly quota: TrafficQuotaService,
  ) {}

  @Get(':id/traffic')
  @ApiOperation({ summary: 'Traffic of the current period: used in and out, allowance, reset date, whether the network is slowed' })
  @ApiOkResponse({ type: TrafficDto })
  traffic(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<TrafficView> {
    return this.quota.traffic(tenantId, id);
  }

  @Get(':id/usage')
  @ApiOperation({ summary: 'Usage graph of a server: CPU %, network bits/s in and out, disk bytes/s and IOPS (1h: per minute, 24h: per 5 minutes, 7d and 30d: per hour), every step present, gaps with null rates' })
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

@ApiTags('admin')
@Controller('api/v1/admin/servers')
@StaffOnly(Permission.TasksManage)
export class AdminTrafficController {
  constructor(@Inject(TrafficQuotaService) private readonly quota: TrafficQuotaService) {}

  @Get(':id/traffic')
  @ApiOperation({ summary: "A server's traffic in its current period" })
  @ApiOkResponse({ type: TrafficDto })
  traffic(@UuidParam() id: string): Promise<TrafficView> {
    return this.quota.traffic(null, id);
  }

  @Post(':id/traffic')
  @HttpCode(200)
  @ApiOperation({ summary: 'Add traffic to the current period of a server (audited with the reason); a throttle lifts when it is under its allowance again' })
  @ApiOkResponse({ type: TrafficDto })
  add(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: AddTrafficDto): Promise<TrafficView> {
    return this.quota.addTraffic(actor, id, dto.addGiB, dto.reason);
  }
}
