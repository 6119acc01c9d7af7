import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Permission, type NodeHeartbeatView } from '@oblako/contracts';
import { StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { HeartbeatHistoryService } from './heartbeat-history.service.js';

export class NodeHeartbeatDto implements NodeHeartbeatView {
  @ApiProperty({ format: 'date-time', description: 'When the node took it (its clock)' }) at: string;
  @ApiProperty({ format: 'date-time', description: 'When the API received it' }) receivedAt: string;
  @ApiProperty({ description: 'Oblako domains the node reported' }) domains: number;
  @ApiProperty({ nullable: true, type: Number, description: "The host's 1-minute load average (null from older daemons)" }) load1: number | null;
  @ApiProperty({ nullable: true, type: String }) daemonVersion: string | null;
}

@ApiTags('admin: fleet')
@Controller('api/v1/admin/nodes/:id/heartbeats')
@StaffOnly(Permission.FleetManage)
export class AdminNodeHeartbeatsController {
  constructor(@Inject(HeartbeatHistoryService) private readonly history: HeartbeatHistoryService) {}

  @Get() @ApiOkResponse({ type: [NodeHeartbeatDto], description: "The node's last 60 heartbeats, newest first" })
  list(@UuidParam() id: string): Promise<NodeHeartbeatView[]> { return this.history.list(id); }
}
