import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { StaffOnly, TenantScoped } from '../common/guards.js';
import { CurrentTenant } from '../common/request-context.js';
import { AuditEntryEntity } from './audit.entity.js';

export class AuditQuery {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'tenantId must be a tenant id (UUID)' }) tenantId?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'Entries by this user' }) @IsOptional() @IsUUID('all', { message: 'actorUserId must be a user id (UUID)' }) actorUserId?: string;
  @ApiPropertyOptional({ description: 'Entries about this object (a server, node, tenant ... id)' }) @IsOptional() @IsString() @MaxLength(200) targetId?: string;
  @ApiPropertyOptional({ description: 'An action (server.create) or a prefix ending in a dot (server.)', example: 'server.' })
  @IsOptional()
  @Matches(/^[a-z_]+(\.[a-z_]*)*$/, { message: 'action must look like server.create, or a prefix like server.' })
  @MaxLength(80)
  action?: string;
  @ApiPropertyOptional({ description: 'Entries with a smaller id (the last id of the previous page)' }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) before?: number;
  @ApiPropertyOptional({ default: 50, maximum: 200 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
}

export class AdminAuditEntryDto {
  @ApiProperty() id: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) tenantId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The tenant\'s name now' }) tenantName: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) actorUserId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The acting user\'s email' }) actorEmail: string | null;
  @ApiProperty({ enum: ['user', 'api_token', 'staff', 'system', 'node'] }) actorKind: string;
  @ApiProperty({ example: 'server.create' }) action: string;
  @ApiProperty() targetType: string;
  @ApiProperty({ nullable: true, type: String }) targetId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'What the target is called: host name, node, tenant, user email, plan ...' }) targetName: string | null;
  @ApiProperty({ nullable: true, type: String }) ip: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) details: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class AuditEntryDto {
  @ApiProperty() id: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) tenantId: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) actorUserId: string | null;
  @ApiProperty({ enum: ['user', 'api_token', 'staff', 'system', 'node'] }) actorKind: string;
  @ApiProperty({ example: 'server.create' }) action: string;
  @ApiProperty() targetType: string;
  @ApiProperty({ nullable: true, type: String }) targetId: string | null;
  @ApiProperty({ nullable: true, type: String }) ip: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) details: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

/** Who did what to which object, from where, when: newest first, for staff. */
@ApiTags('admin: audit')
@Controller('api/v1/admin/audit')
@StaffOnly(Permission.AuditRead)
export class AdminAuditController {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  @Get()
  @ApiOkResponse({ type: [AdminAuditEntryDto] })
  async list(@Query() q: AuditQuery): Promise<AdminAuditEntryDto[]> {
    const params: unknown[] = [q.limit ?? 50];
    const where: string[] = [];
    if (q.tenantId) where.push(`a.tenant_id = $${params.push(q.tenantId)}::uuid`);
    if (q.actorUserId) where.push(`a.actor_user_id = $${params.push(q.actorUserId)}::uuid`);
    if (q.targetId) where.push(`a.target_id = $${params.push(q.targetId)}`);
    if (q.action) where.push(q.action.endsWith('.') ? `starts_with(a.action, $${params.push(q.action)})` : `a.action = $${params.push(q.action)}`);
    if (q.before) where.push(`a.id < $${params.push(q.before)}`);
    // Names as they are now, one query: the target by its type (a server's host name, a node's name, ...).
    const rows: AuditRow[] = await this.ds.query(
      `SELECT a.id, a.tenant_id, t.name AS tenant_name, a.actor_user_id, u.email AS actor_email, a.actor_kind, a.action, a.target_type, a.target_id,
              CASE a.target_type
                WHEN 'server' THEN (SELECT s.hostname::text FROM servers s WHERE s.id::text = a.target_id)
                WHEN 'node' THEN (SELECT n.name FROM nodes n WHERE n.id::text = a.target_id)
                WHEN 'tenant' THEN (SELECT x.name FROM tenants x WHERE x.id::text = a.target_id)
                WHEN 'user' THEN (SELECT x.email FROM users x WHERE x.id::text = a.target_id)
                WHEN 'plan' THEN (SELECT x.name FROM plans x WHERE x.id::text = a.target_id)
                WHEN 'image' THEN (SELECT x.name FROM images x WHERE x.id::text = a.target_id)
                WHEN 'location' THEN (SELECT x.name FROM locations x WHERE x.id::text = a.target_id)
                WHEN 'ip_pool' THEN (SELECT x.cidr::text FROM ip_pools x WHERE x.id::text = a.target_id)
              END AS target_name,
              a.ip, a.details, a.created_at
         FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id LEFT JOIN users u ON u.id = a.actor_user_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.id DESC LIMIT $1`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id), tenantId: r.tenant_id, tenantName: r.tenant_name, actorUserId: r.actor_user_id, actorEmail: r.actor_email, actorKind: r.actor_kind,
      action: r.action, targetType: r.target_type, targetId: r.target_id, targetName: r.target_name, ip: r.ip, details: r.details, createdAt: new Date(r.created_at).toISOString(),
    }));
  }
}

export class TenantAuditQuery {
  @ApiPropertyOptional({ description: 'Entries with a smaller id (the last id of the previous page)' }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) before?: number;
  @ApiPropertyOptional({ default: 50, maximum: 200 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
}

/** The tenant's own audit log, for its owners: the same entries staff see for the tenant, newest first. */
@ApiTags('audit')
@Controller('api/v1/audit')
@TenantScoped(Permission.AuditTenantRead)
export class TenantAuditController {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  @Get()
  @ApiOkResponse({ type: [AuditEntryDto] })
  async list(@CurrentTenant() tenantId: string, @Query() q: TenantAuditQuery): Promise<AuditEntryDto[]> {
    const qb = this.ds.getRepository(AuditEntryEntity).createQueryBuilder('a').where('a.tenant_id = :tenantId', { tenantId }).orderBy('a.id', 'DESC').limit(q.limit ?? 50);
    if (q.before) qb.andWhere('a.id < :before', { before: q.before });
    return (await qb.getMany()).map(entryView);
  }
}

interface AuditRow {
  id: string; tenant_id: string | null; tenant_name: string | null; actor_user_id: string | null; actor_email: string | null; actor_kind: string;
  action: string; target_type: string; target_id: string | null; target_name: string | null; ip: string | null; details: Record<string, unknown>; created_at: Date | string;
}

function entryView(r: AuditEntryEntity): AuditEntryDto {
  return {
    id: Number(r.id), tenantId: r.tenantId, actorUserId: r.actorUserId, actorKind: r.actorKind, action: r.action, targetType: r.targetType,
    targetId: r.targetId, ip: r.ip, details: r.details, createdAt: r.createdAt.toISOString(),
  };
}
