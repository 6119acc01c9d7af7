import { Body, Controller, Get, Inject, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { CommonError } from '../common/domain-error.js';
import { StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, type Actor } from '../common/request-context.js';

export class AdminTenantDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Most live servers; null = no cap' }) serverLimit: number | null;
  @ApiProperty() servers: number;
  @ApiProperty() members: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class UpdateTenantDto {
  @ApiProperty({ nullable: true, type: Number, description: 'Most live servers; null removes the cap' })
  @ValidateIf((_, v) => v !== null)
  @IsInt({ message: 'serverLimit must be a whole number or null' })
  @Min(0)
  @Max(100_000)
  serverLimit: number | null;
}

interface Row { id: string; name: string; server_limit: number | null; servers: number; members: number; created_at: Date }

@ApiTags('admin: tenants')
@Controller('api/v1/admin/tenants')
@StaffOnly(Permission.TenantsManage)
export class AdminTenantsController {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
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
}

const SELECT = `SELECT t.id, t.name, t.server_limit, t.created_at,
  (SELECT count(*)::int FROM servers s WHERE s.tenant_id = t.id AND s.deleted_at IS NULL AND s.state <> 'deleted') AS servers,
  (SELECT count(*)::int FROM memberships ms WHERE ms.tenant_id = t.id) AS members
  FROM tenants t`;

function view(r: Row): AdminTenantDto {
  return { id: r.id, name: r.name, serverLimit: r.server_limit, servers: r.servers, members: r.members, createdAt: r.created_at.toISOString() };
}
