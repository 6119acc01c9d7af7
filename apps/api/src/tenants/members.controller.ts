import { Body, Controller, Delete, Get, HttpCode, Inject, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Permission, TENANT_ROLES, type TenantRole } from '@oblako/contracts';
import { IsIn } from 'class-validator';
import { RequirePermission, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, CurrentTenantRole, type Actor } from '../common/request-context.js';
import { MembersService, type MemberView } from './members.service.js';

export class MemberDto implements MemberView {
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: TENANT_ROLES }) role: TenantRole;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class ChangeRoleDto {
  @ApiProperty({ enum: TENANT_ROLES }) @IsIn(TENANT_ROLES, { message: `role must be one of ${TENANT_ROLES.join(', ')}` }) role: TenantRole;
}

@ApiTags('members')
@Controller('api/v1/members')
@TenantScoped(Permission.ServersRead)
export class MembersController {
  constructor(@Inject(MembersService) private readonly members: MembersService) {}

  @Get()
  @ApiOkResponse({ type: [MemberDto] })
  list(@CurrentTenant() tenantId: string): Promise<MemberView[]> {
    return this.members.list(tenantId);
  }

  @Patch(':userId')
  @RequirePermission(Permission.MembersManage)
  @ApiOkResponse({ type: MemberDto })
  change(@CurrentTenant() tenantId: string, @CurrentTenantRole() role: TenantRole, @CurrentActor() actor: Actor, @UuidParam('userId') userId: string, @Body() dto: ChangeRoleDto): Promise<MemberView> {
    return this.members.changeRole(tenantId, actor, role, userId, dto.role);
  }

  @Delete(':userId')
  @HttpCode(204)
  @RequirePermission(Permission.MembersManage)
  remove(@CurrentTenant() tenantId: string, @CurrentTenantRole() role: TenantRole, @CurrentActor() actor: Actor, @UuidParam('userId') userId: string): Promise<void> {
    return this.members.remove(tenantId, actor, role, userId);
  }
}
