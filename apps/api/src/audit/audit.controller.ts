import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { StaffOnly, TenantScoped } from '../common/guards.js';
import { CurrentTenant } from '../common/request-context.js';
import { AuditEntryEntity } from './audit.entity.js';

export class AuditQuery {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'tenantId must be a tenant id (UUID)' }) tenantId?: string;
  @ApiPropertyOptional({ description: 'Entries with a smaller id (the last id of the previous page)' }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) before?: number;
  @ApiPropertyOptional({ default: 50, maximum: 200 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
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
  @ApiOkResponse({ type: [AuditEntryDto] })
  async list(@Query() q: AuditQuery): Promise<AuditEntryDto[]> {
    const qb = this.ds.getRepository(AuditEntryEntity).createQueryBuilder('a').orderBy('a.id', 'DESC').limit(q.limit ?? 50);
    if (q.tenantId) qb.andWhere('a.tenant_id = :tenantId', { tenantId: q.tenantId });
    if (q.before) qb.andWhere('a.id < :before', { before: q.before });
    return (await qb.getMany()).map(entryView);
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

function entryView(r: AuditEntryEntity): AuditEntryDto {
  return {
    id: Number(r.id), tenantId: r.tenantId, actorUserId: r.actorUserId, actorKind: r.actorKind, action: r.action, targetType: r.targetType,
    targetId: r.targetId, ip: r.ip, details: r.details, createdAt: r.createdAt.toISOString(),
  };
}
