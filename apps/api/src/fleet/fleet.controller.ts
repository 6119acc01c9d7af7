import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Permission, type IpPoolView, type NodeJoinView, type NodeOrphanView, type NodeRegistrationView, type NodeView } from '@oblako/contracts';
import { StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import { CreateIpPoolDto, IpPoolDto, NodeDto, NodeJoinDto, NodeOrphanDto, NodeRegistrationDto, RegisterNodeDto, UpdateNodeDto } from './fleet.dto.js';
import { FleetService } from './fleet.service.js';

@ApiTags('admin: fleet')
@Controller('api/v1/admin')
@StaffOnly(Permission.FleetManage)
export class AdminFleetController {
  constructor(@Inject(FleetService) private readonly fleet: FleetService) {}

  @Post('nodes')
  @ApiCreatedResponse({ type: NodeRegistrationDto, description: 'The node and what its daemon needs to connect.' })
  registerNode(@CurrentActor() a: Actor, @Body() dto: RegisterNodeDto): Promise<NodeRegistrationView> {
    return this.fleet.registerNode(a, dto);
  }

  @Post('nodes/:id/credentials')
  @ApiCreatedResponse({ type: NodeRegistrationDto, description: 'New NATS credentials for the node daemon (shown once).' })
  nodeCredentials(@CurrentActor() a: Actor, @UuidParam() id: string): Promise<NodeRegistrationView> {
    return this.fleet.issueNodeCredentials(a, id);
  }

  @Post('nodes/:id/join')
  @ApiCreatedResponse({ type: NodeJoinDto, description: 'A new single-use join command for the hypervisor (expires in an hour; replaces an unused older one).' })
  nodeJoin(@CurrentActor() a: Actor, @UuidParam() id: string): Promise<NodeJoinView> {
    return this.fleet.newJoin(a, id);
  }

  @Get('nodes') @ApiOkResponse({ type: [NodeDto] })
  nodes(): Promise<NodeView[]> { return this.fleet.listNodes(); }

  @Get('nodes/:id') @ApiOkResponse({ type: NodeDto })
  node(@UuidParam() id: string): Promise<NodeView> { return this.fleet.getNode(id); }

  @Get('nodes/:id/orphans') @ApiOkResponse({ type: [NodeOrphanDto], description: 'Domains the node held that it should not, and what it did with them.' })
  orphans(@UuidParam() id: string): Promise<NodeOrphanView[]> { return this.fleet.listOrphans(id); }

  @Patch('nodes/:id') @ApiOkResponse({ type: NodeDto })
  updateNode(@CurrentActor() a: Actor, @UuidParam() id: string, @Body() dto: UpdateNodeDto): Promise<NodeView> { return this.fleet.updateNode(a, id, dto); }

  @Delete('nodes/:id') @HttpCode(204)
  deleteNode(@CurrentActor() a: Actor, @UuidParam() id: string): Promise<void> { return this.fleet.deleteNode(a, id); }

  @Post('ip-pools') @ApiCreatedResponse({ type: IpPoolDto })
  createPool(@CurrentActor() a: Actor, @Body() dto: CreateIpPoolDto): Promise<IpPoolView> { return this.fleet.createPool(a, dto); }

  @Get('ip-pools') @ApiOkResponse({ type: [IpPoolDto] })
  pools(): Promise<IpPoolView[]> { return this.fleet.listPools(); }

  @Delete('ip-pools/:id') @HttpCode(204)
  deletePool(@CurrentActor() a: Actor, @UuidParam() id: string): Promise<void> { return this.fleet.deletePool(a, id); }
}
