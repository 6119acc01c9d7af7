import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { CONSOLE_KINDS, Permission, type ConsoleKind, type ConsoleTicketView } from '@oblako/contracts';
import { IsIn } from 'class-validator';
import { StaffOnly, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentPrincipal, CurrentTenant, type Actor, type Principal } from '../common/request-context.js';
import { ConsolesService } from './consoles.service.js';

export class ConsoleTicketRequestDto {
  @ApiProperty({ enum: CONSOLE_KINDS, description: 'vnc: the graphical console (noVNC); serial: the first serial port (xterm.js)' })
  @IsIn(CONSOLE_KINDS as ConsoleKind[], { message: `kind must be one of ${CONSOLE_KINDS.join(', ')}` })
  kind: ConsoleKind;
}

export class ConsoleTicketDto implements ConsoleTicketView {
  @ApiProperty({ format: 'uuid' }) serverId: string;
  @ApiProperty({ enum: CONSOLE_KINDS }) kind: ConsoleKind;
  @ApiProperty({ description: 'The secret; it opens one console once' }) ticket: string;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
  @ApiProperty({ description: 'WebSocket path on this origin, ticket included' }) path: string;
}

const SUMMARY =
  'A one-time console ticket (valid seconds, single use, bound to you, this server and the kind); open `path` as a WebSocket on the same origin. The server must be running (409 otherwise).';

@ApiTags('servers')
@Controller('api/v1/servers')
@TenantScoped(Permission.ServersConsole)
export class ConsolesController {
  constructor(@Inject(ConsolesService) private readonly consoles: ConsolesService) {}

  @Post(':id/console')
  @HttpCode(201)
  @ApiOperation({ summary: SUMMARY })
  @ApiCreatedResponse({ type: ConsoleTicketDto })
  ticket(@CurrentPrincipal() principal: Principal, @CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: ConsoleTicketRequestDto): Promise<ConsoleTicketView> {
    return this.consoles.issueForTenant(principal, tenantId, id, dto.kind, actor.ip);
  }
}

@ApiTags('admin: servers')
@Controller('api/v1/admin/servers')
@StaffOnly(Permission.ConsolesOpen)
export class AdminConsolesController {
  constructor(@Inject(ConsolesService) private readonly consoles: ConsolesService) {}

  @Post(':id/console')
  @HttpCode(201)
  @ApiOperation({ summary: `Staff: ${SUMMARY} Every open is audited in the tenant's log.` })
  @ApiCreatedResponse({ type: ConsoleTicketDto })
  ticket(@CurrentPrincipal() principal: Principal, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: ConsoleTicketRequestDto): Promise<ConsoleTicketView> {
    return this.consoles.issueForStaff(principal, id, dto.kind, actor.ip);
  }
}
