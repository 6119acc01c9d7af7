import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission, WEBHOOK_CATEGORIES, type WebhookCategory, type WebhookDeliveryView, type WebhookEndpointView } from '@oblako/contracts';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, CurrentTenant, type Actor } from '../common/request-context.js';
import { WebhooksService } from './webhooks.service.js';

const EVENTS_HINT = `events must list one or more of ${WEBHOOK_CATEGORIES.join(', ')}`;

export class WebhookEndpointDto implements WebhookEndpointView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'https://example.com/hooks/oblako' }) url: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ enum: WEBHOOK_CATEGORIES, isArray: true }) events: WebhookCategory[];
  @ApiProperty() enabled: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) disabledAt: string | null;
  @ApiProperty({ nullable: true, type: String }) disabledReason: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Every delivery has failed since then; after 3 days the endpoint is turned off' }) failingSince: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'The previous secret still signs until then' }) previousSecretExpiresAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class WebhookEndpointCreatedDto extends WebhookEndpointDto {
  @ApiProperty({ description: 'The signing secret, shown once (whsec_...)' }) secret: string;
}

export class CreateWebhookEndpointDto {
  @ApiProperty({ example: 'https://example.com/hooks/oblako', description: 'https; must resolve to public addresses (http://localhost only in development mode)' })
  @IsString({ message: 'url must be an https URL' }) @MaxLength(2000) url: string;
  @ApiProperty({ enum: WEBHOOK_CATEGORIES, isArray: true })
  @IsArray({ message: EVENTS_HINT }) @ArrayMinSize(1, { message: EVENTS_HINT }) @IsIn(WEBHOOK_CATEGORIES, { each: true, message: EVENTS_HINT }) events: WebhookCategory[];
  @ApiPropertyOptional({ maxLength: 200 }) @IsOptional() @IsString() @MaxLength(200) description?: string;
}

export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional() @IsOptional() @IsString({ message: 'url must be an https URL' }) @MaxLength(2000) url?: string;
  @ApiPropertyOptional({ enum: WEBHOOK_CATEGORIES, isArray: true })
  @IsOptional() @IsArray({ message: EVENTS_HINT }) @ArrayMinSize(1, { message: EVENTS_HINT }) @IsIn(WEBHOOK_CATEGORIES, { each: true, message: EVENTS_HINT }) events?: WebhookCategory[];
  @ApiPropertyOptional({ nullable: true, type: String }) @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @MaxLength(200) description?: string | null;
  @ApiPropertyOptional({ description: 'Turn the endpoint on again (or off)' }) @IsOptional() @IsBoolean() enabled?: boolean;
}

export class RotatedSecretDto {
  @ApiProperty({ description: 'The new secret, shown once' }) secret: string;
  @ApiProperty({ format: 'date-time', description: 'Until then deliveries carry a signature with the previous secret too' }) previousSecretExpiresAt: string;
}

export class WebhookDeliveryDto implements WebhookDeliveryView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) endpointId: string;
  @ApiProperty({ format: 'uuid', description: 'Oblako-Webhook-Id: the same for every delivery of the event' }) eventId: string;
  @ApiProperty({ example: 'server.state_changed' }) eventType: string;
  @ApiProperty({ enum: ['pending', 'succeeded', 'failed'] }) state: WebhookDeliveryView['state'];
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: Number }) lastStatusCode: number | null;
  @ApiProperty({ nullable: true, type: String }) lastError: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastAttemptAt: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) nextAttemptAt: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) deliveredAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class DeliveriesQuery {
  @ApiPropertyOptional({ default: 50, maximum: 200 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
  @ApiPropertyOptional({ format: 'date-time', description: 'Deliveries made before this time (createdAt of the last one shown)' }) @IsOptional() @IsISO8601() before?: string;
}

@ApiTags('webhooks')
@Controller('api/v1/webhooks')
@TenantScoped(Permission.WebhooksManage)
export class WebhooksController {
  constructor(@Inject(WebhooksService) private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({ summary: 'Register an endpoint and choose event categories; answers the signing secret once' })
  @ApiCreatedResponse({ type: WebhookEndpointCreatedDto })
  create(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @Body() dto: CreateWebhookEndpointDto): Promise<WebhookEndpointCreatedDto> {
    return this.webhooks.create(tenantId, actor, dto);
  }

  @Get()
  @ApiOkResponse({ type: [WebhookEndpointDto] })
  list(@CurrentTenant() tenantId: string): Promise<WebhookEndpointView[]> {
    return this.webhooks.list(tenantId);
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookEndpointDto })
  get(@CurrentTenant() tenantId: string, @UuidParam() id: string): Promise<WebhookEndpointView> {
    return this.webhooks.get(tenantId, id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: WebhookEndpointDto })
  update(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: UpdateWebhookEndpointDto): Promise<WebhookEndpointView> {
    return this.webhooks.update(tenantId, actor, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<void> {
    return this.webhooks.remove(tenantId, actor, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'A new signing secret (shown once); deliveries are signed with both the new and the old one for 24 hours' })
  @ApiOkResponse({ type: RotatedSecretDto })
  rotate(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<RotatedSecretDto> {
    return this.webhooks.rotateSecret(tenantId, actor, id);
  }

  @Post(':id/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a webhook.test event to this endpoint' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  ping(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<WebhookDeliveryView> {
    return this.webhooks.ping(tenantId, actor, id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'Deliveries to this endpoint, newest first, with their state and the last response code' })
  @ApiOkResponse({ type: [WebhookDeliveryDto] })
  deliveries(@CurrentTenant() tenantId: string, @UuidParam() id: string, @Query() q: DeliveriesQuery): Promise<WebhookDeliveryView[]> {
    return this.webhooks.deliveries(tenantId, id, q.limit, q.before);
  }

  @Post('deliveries/:id/resend')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a delivered or failed event again (a new delivery with the same event id)' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  resend(@CurrentTenant() tenantId: string, @CurrentActor() actor: Actor, @UuidParam() id: string): Promise<WebhookDeliveryView> {
    return this.webhooks.resend(tenantId, actor, id);
  }
}
