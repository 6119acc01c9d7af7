import { Body, Controller, Delete, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { UuidParam } from '../common/params.js';
import { ApiCreatedResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { NAME_MAX_LENGTH, Permission, type ApiTokenCreatedView, type ApiTokenView } from '@oblako/contracts';
import { IsString, MaxLength } from 'class-validator';
import { IsNotBlank } from '../common/validators.js';
import { TenantScoped } from '../common/guards.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { ApiTokensService } from './api-tokens.service.js';

export class CreateApiTokenDto {
  @ApiProperty({ example: 'ci-deploy', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotBlank({ message: 'name must say what the token is for' })
  @MaxLength(NAME_MAX_LENGTH)
  name: string;
}

export class ApiTokenDto implements ApiTokenView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'First characters of the token, to recognise it.' }) prefix: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastUsedAt: string | null;
}

export class ApiTokenCreatedDto extends ApiTokenDto implements ApiTokenCreatedView {
  @ApiProperty({ description: 'The secret. Shown once; store it now.' }) token: string;
}

@ApiTags('api-tokens')
@Controller('api/v1/api-tokens')
@TenantScoped(Permission.ApiTokensManage)
export class ApiTokensController {
  constructor(@Inject(ApiTokensService) private readonly tokens: ApiTokensService) {}

  @Post()
  @ApiCreatedResponse({ type: ApiTokenCreatedDto })
  create(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @Body() dto: CreateApiTokenDto): Promise<ApiTokenCreatedView> {
    return this.tokens.create(tenantId, actor, dto.name);
  }

  @Get()
  @ApiOkResponse({ type: [ApiTokenDto] })
  list(@CurrentTenant() tenantId: string): Promise<ApiTokenView[]> {
    return this.tokens.list(tenantId);
  }

  @Delete(':id')
  @HttpCode(204)
  revoke(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<void> {
    return this.tokens.revoke(tenantId, actor, id);
  }
}
