import { Body, Controller, Get, HttpCode, Inject, Patch, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { IsInt, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { CommonError } from '../common/domain-error.js';
import { StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import { TenantSuspensionService } from './tenant-suspension.service.js';

export class AdminTenantDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Most live servers; null = no cap' }) serverLimit: number | null;
  @ApiProperty() servers: number;
  @ApiProperty() members: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Set while staff have suspended the tenant; null = not suspended' }) suspendedAt: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why staff suspended the tenant' }) suspendedReason: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class TenantSuspensionDto {
  @ApiProperty({ description: 'Why (kept in the audit log), 3 to 500 characters', example: 'abuse report #123', minLength: 3, maxLength: 500 })
  @IsString({ message: 'reason is required: say why, in 3 to 500 characters' })
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(500, { message: 'reason must be at most 500 characters' })
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason: string;
}

export class TenantSuspensionView {
  @ApiProperty({ type: AdminTenantDto }) tenant: AdminTenantDto;
  @ApiProperty({ type: [String], description: 'Servers whose staff hold this call placed (suspend) or lifted (unsuspend)' }) serverIds: string[];
  @ApiProperty({ type: [String], description: 'Suspend: servers already held by staff for another reason; their hold stays as it is' }) alreadyHeld: string[];
}

export class UpdateTenantDto {
  @ApiProperty({ nullable: true, type: Number, description: 'Most live servers; null removes the cap' })
  @ValidateIf((_, v) => v !== null)
  @IsInt({ message: 'serverLimit must be a whole number or null' })
  @Min(0)
  @Max(100_000)
  serverLimit: number | null;
}

interface Row { id: string; name: string; server_limit: number | null; servers: number; members: number; suspended_at: Date | null; suspended_reason: string | null; created_at: Date }

@ApiTags('admin: tenants')
@Controller('api/v1/admin/tenants')
@StaffOnly(Permission.TenantsManage)
export class AdminTenantsController {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(TenantSuspensionService) private readonly suspension: TenantSuspensionService,
  ) {}

  @Get()
  @ApiOkResponse({ type: [AdminTenantDto] })
  async list(): Promise<AdminTenantDto[]> {
    return (await this.ds.query(`${SELECT} ORDER BY t.created_at DESC, t.id LIMIT 500`)).map(view);
  }

  @Patch(':id')
  @ApiOkResponse({ type: AdminTenantDto })
  async update(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: UpdateTenantDto): Promise<AdminTenantDto> {
    return this.ds.transaction(async (m) => {
      const res: [unknown[], number] = await m.query('UPDATE tenants SET server_limit = $2 WHERE id = $1', [id, dto.serverLimit]);
      if (!res[1]) throw new CommonError('not_found', `No tenant with id ${id}.`);
      await this.audit.record(m, { tenantId: id, actorUserId: actor.userId, actorKind: 'staff', action: 'tenant.update', targetType: 'tenant', targetId: id, ip: actor.ip, details: { serverLimit: dto.serverLimit } });
      const rows: Row[] = await m.query(`${SELECT} WHERE t.id = $1`, [id]);
      return view(rows[0]!);
    });
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @ApiOperation({
    summary: "Suspend a tenant: no new orders (403 tenant_suspended), and a staff hold on each of its live servers (stopped; the customer cannot start them). Members can still log in and read. Audited",
  })
  @ApiOkResponse({ type: TenantSuspensionView })
  async suspend(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: TenantSuspensionDto): Promise<TenantSuspensionView> {
    const result = await this.suspension.suspend(actor, id, dto.reason);
    return { tenant: await this.one(id), ...result };
  }

  @Post(':id/unsuspend')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Lift a tenant suspension and the server holds it placed (servers that were running start again); holds staff put on single servers stay. Audited',
  })
  @ApiOkResponse({ type: TenantSuspensionView })
  async unsuspend(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: TenantSuspensionDto): Promise<TenantSuspensionView> {
    const result = await this.suspension.unsuspend(actor, id, dto.reason);
    return { tenant: await this.one(id), ...result };
  }

  private async one(id: string): Promise<AdminTenantDto> {
    const rows: Row[] = await this.ds.query(`${SELECT} WHERE t.id = $1`, [id]);
    return view(rows[0]!);
  }
}

const SELECT = `SELECT t.id, t.name, t.server_limit, t.suspended_at, t.suspended_reason, t.created_at,
  (SELECT count(*)::int FROM servers s WHERE s.tenant_id = t.id AND s.deleted_at IS NULL AND s.state <> 'deleted') AS servers,
  (SELECT count(*)::int FROM memberships ms WHERE ms.tenant_id = t.id) AS members
  FROM tenants t`;

function view(r: Row): AdminTenantDto {
  return {
    id: r.id, name: r.name, serverLimit: r.server_limit, servers: r.servers, members: r.members,
    suspendedAt: r.suspended_at?.toISOString() ?? null, suspendedReason: r.suspended_reason, createdAt: r.created_at.toISOString(),
  };
}
