import { Body, Controller, Get, HttpCode, Inject, Post, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { NOTIFICATION_KIND_LIST, Permission, type NotificationKind, type NotificationPreferenceView, type NotificationView, type TenantRole } from '@oblako/contracts';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, ValidateNested } from 'class-validator';
import { TenantScoped } from '../common/guards.js';
import { CurrentPrincipal, CurrentTenant, CurrentTenantRole, type Principal } from '../common/request-context.js';
import { NotificationsService } from './notifications.service.js';

export class NotificationDto implements NotificationView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: NOTIFICATION_KIND_LIST }) kind: NotificationKind;
  @ApiProperty() title: string;
  @ApiProperty() body: string;
  @ApiProperty({ nullable: true, type: String, description: 'Panel path' }) link: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) readAt: string | null;
}

export class NotificationListDto {
  @ApiProperty({ type: [NotificationDto] }) items: NotificationDto[];
  @ApiProperty({ description: 'Newer than the last time you marked them seen' }) unread: number;
}

export class NotificationPreferenceDto implements NotificationPreferenceView {
  @ApiProperty({ enum: NOTIFICATION_KIND_LIST }) kind: NotificationKind;
  @ApiProperty() label: string;
  @ApiProperty({ description: 'Send it by email' }) email: boolean;
  @ApiProperty({ description: 'False when this mail cannot be turned off for you (security; billing mail to owners)' }) optional: boolean;
}

export class PreferenceChangeDto {
  @ApiProperty({ enum: NOTIFICATION_KIND_LIST }) @IsIn(NOTIFICATION_KIND_LIST, { message: `kind must be one of ${NOTIFICATION_KIND_LIST.join(', ')}` }) kind: NotificationKind;
  @ApiProperty() @IsBoolean({ message: 'email must be true or false' }) email: boolean;
}

export class PreferencesDto {
  @ApiProperty({ type: [PreferenceChangeDto] }) @IsArray() @ArrayMaxSize(50) @ValidateNested({ each: true }) @Type(() => PreferenceChangeDto) preferences: PreferenceChangeDto[];
}

@ApiTags('notifications')
@Controller('api/v1/notifications')
@TenantScoped(Permission.NotificationsRead)
export class NotificationsController {
  constructor(@Inject(NotificationsService) private readonly notifications: NotificationsService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's notifications, newest first, and how many you have not seen" })
  @ApiOkResponse({ type: NotificationListDto })
  list(@CurrentTenant() tenantId: string, @CurrentPrincipal() p: Principal): Promise<{ items: NotificationView[]; unread: number }> {
    return this.notifications.list(tenantId, p.userId);
  }

  @Post('seen')
  @HttpCode(204)
  @ApiOperation({ summary: 'Mark every notification seen (for you)' })
  seen(@CurrentTenant() tenantId: string, @CurrentPrincipal() p: Principal): Promise<void> {
    return this.notifications.markSeen(tenantId, p.userId);
  }

  @Get('preferences')
  @ApiOperation({ summary: 'Which notifications you get by email (some cannot be turned off)' })
  @ApiOkResponse({ type: [NotificationPreferenceDto] })
  preferences(@CurrentPrincipal() p: Principal, @CurrentTenantRole() role: TenantRole): Promise<NotificationPreferenceView[]> {
    return this.notifications.preferences(p.userId, role);
  }

  @Put('preferences')
  @ApiOperation({ summary: 'Choose which notifications you get by email; mail that cannot be turned off stays on' })
  @ApiOkResponse({ type: [NotificationPreferenceDto] })
  setPreferences(@CurrentPrincipal() p: Principal, @CurrentTenantRole() role: TenantRole, @Body() dto: PreferencesDto): Promise<NotificationPreferenceView[]> {
    return this.notifications.setPreferences(p.userId, role, dto.preferences);
  }
}
