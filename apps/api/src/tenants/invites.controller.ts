import { Body, Controller, Delete, Get, HttpCode, Inject, Ip, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiDefaultResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Permission, TENANT_ROLES, type InviteView, type TenantRole } from '@oblako/contracts';
import { IsEmail, IsIn, MaxLength } from 'class-validator';
import { TokenDto } from '../auth/auth.dto.js';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { Authenticated, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentPrincipal, CurrentTenant, CurrentTenantRole, type Actor, type Principal } from '../common/request-context.js';
import { InvitesService, type InvitePreview } from './invites.service.js';

export class InviteDto implements InviteView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: TENANT_ROLES }) role: TenantRole;
  @ApiProperty({ enum: ['pending', 'accepted', 'revoked', 'expired'] }) state: InviteView['state'];
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class CreateInviteDto {
  @ApiProperty({ description: 'Address to invite (an account is not needed: they can sign up from the link)' })
  @IsEmail({}, { message: 'email must be an email address such as alice@example.com' })
  @MaxLength(254)
  email: string;
  @ApiProperty({ enum: TENANT_ROLES }) @IsIn(TENANT_ROLES, { message: `role must be one of ${TENANT_ROLES.join(', ')}` }) role: TenantRole;
}

export class InvitePreviewDto implements InvitePreview {
  @ApiProperty() tenantName: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: TENANT_ROLES }) role: TenantRole;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
}

export class InviteAcceptedDto {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() tenantName: string;
  @ApiProperty({ enum: TENANT_ROLES }) role: TenantRole;
}

@ApiTags('members')
@Controller('api/v1/members/invites')
@TenantScoped(Permission.MembersManage)
export class MemberInvitesController {
  constructor(@Inject(InvitesService) private readonly invites: InvitesService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Invite an address to the tenant: it gets a link to accept (7 days). The answer does not depend on whether the address has an account' })
  @ApiAcceptedResponse({ type: InviteDto })
  invite(@CurrentTenant() tenantId: string, @CurrentTenantRole() role: TenantRole, @CurrentActor() actor: Actor, @Body() dto: CreateInviteDto): Promise<InviteView> {
    return this.invites.invite(tenantId, actor, role, dto.email, dto.role);
  }

  @Get()
  @ApiOkResponse({ type: [InviteDto] })
  list(@CurrentTenant() tenantId: string): Promise<InviteView[]> {
    return this.invites.list(tenantId);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Withdraw a pending invitation; its link stops working' })
  revoke(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<void> {
    return this.invites.revoke(tenantId, actor, id);
  }
}

@ApiTags('members')
@ApiDefaultResponse({ type: ApiErrorDto, description: 'Error (ApiError)' })
@Controller('api/v1/invites')
export class InvitesController {
  constructor(@Inject(InvitesService) private readonly invites: InvitesService) {}

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({ summary: 'What an invitation link is for (tenant, address, role), so the page can ask to accept' })
  @ApiOkResponse({ type: InvitePreviewDto })
  preview(@Body() dto: TokenDto): Promise<InvitePreview> {
    return this.invites.preview(dto.token);
  }

  @Post('accept')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({ summary: 'Accept an invitation with the account of the invited address; no account yet: POST /auth/register/invite' })
  @ApiOkResponse({ type: InviteAcceptedDto })
  accept(@CurrentPrincipal() principal: Principal, @Body() dto: TokenDto, @Ip() ip: string): Promise<InviteAcceptedDto> {
    return this.invites.accept(principal.userId, ip, dto.token);
  }
}
