import { Body, Controller, Get, Inject, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { IsBoolean } from 'class-validator';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { StaffOnly, TenantScoped } from '../common/guards.js';
import { CurrentActor, CurrentPrincipal, CurrentTenant, type Actor, type Principal } from '../common/request-context.js';
import { AuthError } from './auth.errors.js';
import { STAFF_REQUIRE_TWO_FACTOR_KEY, staffRequireTwoFactor } from './staff-policy.js';

export class TenantSecurityDto {
  @ApiProperty({ description: 'Every member must use two-factor sign-in; members without it get 403 two_factor_required in this tenant until they turn it on' })
  @IsBoolean({ message: 'requireTwoFactor must be true or false' })
  requireTwoFactor: boolean;
}

export class StaffSecurityDto {
  @ApiProperty({ description: 'Every staff account must use two-factor sign-in for staff endpoints' })
  @IsBoolean({ message: 'staffRequireTwoFactor must be true or false' })
  staffRequireTwoFactor: boolean;
}

const mustHaveItFirst = (who: string) =>
  new AuthError('two_factor_required', `Turn on two-factor sign-in for your own account first, or ${who} would lock you out.`);

@ApiTags('security')
@Controller('api/v1/tenant/security')
@TenantScoped(Permission.TenantSecurityManage)
export class TenantSecurityController {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOkResponse({ type: TenantSecurityDto })
  async get(@CurrentTenant() tenantId: string): Promise<TenantSecurityDto> {
    const [t]: { require_two_factor: boolean }[] = await this.ds.query('SELECT require_two_factor FROM tenants WHERE id = $1', [tenantId]);
    return { requireTwoFactor: t?.require_two_factor ?? false };
  }

  @Put()
  @ApiOperation({ summary: "Owners: require two-factor sign-in of every member of the tenant (audited)" })
  @ApiOkResponse({ type: TenantSecurityDto })
  async set(@CurrentTenant() tenantId: string, @CurrentPrincipal() principal: Principal, @CurrentActor() actor: Actor, @Body() dto: TenantSecurityDto): Promise<TenantSecurityDto> {
    if (dto.requireTwoFactor && !principal.twoFactorEnabled) throw mustHaveItFirst('requiring it');
    await this.ds.transaction(async (m) => {
      await m.query('UPDATE tenants SET require_two_factor = $2 WHERE id = $1', [tenantId, dto.requireTwoFactor]);
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'tenant.security', targetType: 'tenant', targetId: tenantId, ip: actor.ip, details: { requireTwoFactor: dto.requireTwoFactor } });
    });
    return { requireTwoFactor: dto.requireTwoFactor };
  }
}

@ApiTags('admin: settings')
@Controller('api/v1/admin/settings/security')
@StaffOnly(Permission.SettingsManage)
export class StaffSecurityController {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOkResponse({ type: StaffSecurityDto })
  async get(): Promise<StaffSecurityDto> {
    return { staffRequireTwoFactor: await staffRequireTwoFactor(this.ds) };
  }

  @Put()
  @ApiOperation({ summary: 'Require two-factor sign-in of every staff account (audited)' })
  @ApiOkResponse({ type: StaffSecurityDto })
  async set(@CurrentPrincipal() principal: Principal, @CurrentActor() actor: Actor, @Body() dto: StaffSecurityDto): Promise<StaffSecurityDto> {
    if (dto.staffRequireTwoFactor && !principal.twoFactorEnabled) throw mustHaveItFirst('requiring it of staff');
    await this.ds.transaction(async (m) => {
      await m.query(
        `INSERT INTO settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by`,
        [STAFF_REQUIRE_TWO_FACTOR_KEY, JSON.stringify(dto.staffRequireTwoFactor), actor.userId],
      );
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'settings.security', targetType: 'settings', targetId: STAFF_REQUIRE_TWO_FACTOR_KEY, ip: actor.ip, details: { staffRequireTwoFactor: dto.staffRequireTwoFactor } });
    });
    return { staffRequireTwoFactor: dto.staffRequireTwoFactor };
  }
}
