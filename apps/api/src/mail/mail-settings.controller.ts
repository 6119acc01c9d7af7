import { isIP } from 'node:net';
import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Permission } from '@oblako/contracts';
import { isEmail, IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { StaffOnly } from '../common/guards.js';
import { CommonError } from '../common/domain-error.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import { IsNotBlank } from '../common/validators.js';
import type { SmtpSecurity } from '../config/config.js';
import { MailSettingsService, type EffectiveMailSettings, type MailSettingsFields } from './mail-settings.js';
import { MailService, type SmtpTestResult } from './mail.service.js';

const SECURITY: SmtpSecurity[] = ['starttls', 'tls', 'none'];
/** Addresses on a host without a dot (no-reply@localhost, the defaults; an internal mail host) are valid mailboxes. */
const MAILBOX = { require_tld: false };
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function IsSmtpHost(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({
    name: 'isSmtpHost',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && (HOSTNAME.test(v) || isIP(v) !== 0),
      defaultMessage: () => 'host must be a host name (smtp.example.com) or an IP address, without a port or scheme',
    },
  }, options);
}

/** `no-reply@example.com` or `Example Cloud <no-reply@example.com>`; no line breaks, quotes or angle brackets in the name. */
function IsMailbox(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({
    name: 'isMailbox',
    validator: {
      validate: (v: unknown) => {
        if (typeof v !== 'string' || v.length > 320) return false;
        const named = /^([^<>"\r\n\0]{1,100}) <([^<>\s]+)>$/.exec(v);
        return named ? named[1]!.trim() !== '' && isEmail(named[2]!, MAILBOX) : isEmail(v, MAILBOX);
      },
      defaultMessage: () => 'from must be an address (no-reply@example.com) or a name and an address (Example Cloud <no-reply@example.com>)',
    },
  }, options);
}

function IsWebUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({
    name: 'isWebUrl',
    validator: {
      validate: (v: unknown) => {
        if (typeof v !== 'string') return false;
        try {
          const u = new URL(v);
          return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && !u.search && !u.hash;
        } catch {
          return false;
        }
      },
      defaultMessage: () => 'panelUrl must be the http(s) address where customers open the panel, e.g. https://panel.example.com (no query, fragment or credentials)',
    },
  }, options);
}

export class MailSettingsDto {
  @ApiProperty({ nullable: true, type: String, example: 'smtp.example.com', description: 'SMTP server; null: no server (mail waits in the queue)' }) host: string | null;
  @ApiProperty({ example: 587 }) port: number;
  @ApiProperty({ enum: SECURITY, description: 'starttls: upgrade with STARTTLS (required); tls: TLS from the start (usually port 465); none: no TLS (local relays only)' }) security: SmtpSecurity;
  @ApiProperty({ nullable: true, type: String, description: 'SMTP login; null: no authentication' }) user: string | null;
  @ApiProperty({ description: 'Whether a password is set. The password itself is never answered.' }) passwordSet: boolean;
  @ApiProperty({ description: "Refuse a server whose TLS certificate does not verify" }) tlsVerify: boolean;
  @ApiProperty({ example: 'Example Cloud <no-reply@example.com>' }) from: string;
  @ApiProperty({ example: 'Example Cloud', description: 'Named in every mail' }) brandName: string;
  @ApiProperty({ example: 'support@example.com' }) supportEmail: string;
  @ApiProperty({ example: 'https://panel.example.com', description: 'Links in mail point here' }) panelUrl: string;
  @ApiProperty({ enum: ['environment', 'saved'], description: "environment: nothing saved, the API's environment variables apply" }) source: 'environment' | 'saved';
  @ApiProperty({ description: 'Grows with every save; each API replica rebuilds its SMTP connection when it changes' }) version: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) updatedAt: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Email of the staff member who saved last' }) updatedBy: string | null;
}

export class UpdateMailSettingsDto {
  @ApiProperty({ nullable: true, type: String, example: 'smtp.example.com' })
  @ValidateIf((_, v) => v !== null) @IsString({ message: 'host must be a host name or null' }) @IsSmtpHost() host: string | null;
  @ApiProperty({ minimum: 1, maximum: 65535, example: 587 })
  @IsInt({ message: 'port must be a whole number from 1 to 65535' }) @Min(1, { message: 'port must be a whole number from 1 to 65535' }) @Max(65535, { message: 'port must be a whole number from 1 to 65535' }) port: number;
  @ApiProperty({ enum: SECURITY })
  @IsIn(SECURITY, { message: `security must be one of ${SECURITY.join(', ')}` }) security: SmtpSecurity;
  @ApiProperty({ nullable: true, type: String, maxLength: 254 })
  @ValidateIf((_, v) => v !== null) @IsString({ message: 'user must be text or null' }) @MinLength(1, { message: 'user must not be empty (use null for no authentication)' }) @MaxLength(254) user: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, maxLength: 512, description: 'Leave out to keep the password in force; null removes it; text replaces it. Never answered.' })
  @IsOptional() @ValidateIf((_, v) => v !== null) @IsString({ message: 'password must be text or null' }) @MinLength(1, { message: 'password must not be empty (leave it out to keep the current one)' }) @MaxLength(512) password?: string | null;
  @ApiProperty()
  @IsBoolean({ message: 'tlsVerify must be true or false' }) tlsVerify: boolean;
  @ApiProperty({ example: 'Example Cloud <no-reply@example.com>' })
  @IsString() @IsMailbox() from: string;
  @ApiProperty({ maxLength: 100, example: 'Example Cloud' })
  @IsString({ message: 'brandName must be text' }) @IsNotBlank() @MaxLength(100) brandName: string;
  @ApiProperty({ example: 'support@example.com' })
  @IsEmail(MAILBOX, { message: 'supportEmail must be an email address' }) @MaxLength(254) supportEmail: string;
  @ApiProperty({ example: 'https://panel.example.com' })
  @IsString() @MaxLength(2000) @IsWebUrl() panelUrl: string;
}

export class MailTestDto {
  @ApiProperty({ example: 'you@example.com', description: 'Where to send the test mail' })
  @IsEmail({}, { message: 'to must be an email address' }) @MaxLength(254) to: string;
}

export class MailTestResultDto implements SmtpTestResult {
  @ApiProperty({ description: 'The SMTP server accepted the mail' }) sent: boolean;
  @ApiProperty({ nullable: true, type: String, example: '250 OK: message queued', description: "The server's reply" }) response: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 250 }) responseCode: number | null;
  @ApiProperty({ nullable: true, type: String, example: 'EAUTH', description: 'Why it was not sent (EAUTH, ECONNECTION, ETIMEDOUT, ...)' }) errorCode: string | null;
  @ApiProperty() message: string;
}

function view(e: EffectiveMailSettings): MailSettingsDto {
  const s = e.settings;
  return {
    host: s.host, port: s.port, security: s.security, user: s.user, passwordSet: s.password !== null, tlsVerify: s.tlsVerify,
    from: s.from, brandName: s.brandName, supportEmail: s.supportEmail, panelUrl: s.panelUrl,
    source: e.source, version: e.version, updatedAt: e.updatedAt?.toISOString() ?? null, updatedBy: e.updatedBy,
  };
}

@ApiTags('admin: settings')
@Controller('api/v1/admin/settings/mail')
@StaffOnly(Permission.SettingsManage)
export class MailSettingsController {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(MailSettingsService) private readonly settings: MailSettingsService,
    @Inject(MailService) private readonly mail: MailService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The mail settings in force: SMTP server, sender, brand (the password only as set or not)' })
  @ApiOkResponse({ type: MailSettingsDto })
  async get(): Promise<MailSettingsDto> {
    return view(await this.settings.effective());
  }

  @Put()
  @ApiOperation({ summary: "Save the mail settings (every API replica uses them within a second; audited). Until saved, the API's environment applies." })
  @ApiOkResponse({ type: MailSettingsDto })
  async set(@CurrentActor() actor: Actor, @Body() dto: UpdateMailSettingsDto): Promise<MailSettingsDto> {
    const fields: MailSettingsFields = {
      host: dto.host?.toLowerCase() ?? null, port: dto.port, security: dto.security, user: dto.user, tlsVerify: dto.tlsVerify,
      from: dto.from.trim(), brandName: dto.brandName.trim(), supportEmail: dto.supportEmail.trim(), panelUrl: dto.panelUrl.replace(/\/+$/, ''),
    };
    await this.ds.transaction(async (m) => {
      const current = await this.settings.effective(m);
      const passwordAfter = dto.password === undefined ? current.settings.password : dto.password;
      if (fields.user && !passwordAfter) {
        throw new CommonError('validation_failed', 'The request is not valid: password is required when user is set.', [{ field: 'password', problems: ['password is required when user is set'] }]);
      }
      const saved = await this.settings.save(m, fields, dto.password, actor.userId);
      await this.audit.record(m, {
        tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'settings.mail', targetType: 'settings', targetId: 'mail', ip: actor.ip,
        details: { ...fields, version: saved.version, passwordChanged: saved.passwordChanged },
      });
    });
    return view(await this.settings.effective());
  }

  @Delete()
  @ApiOperation({ summary: "Forget the saved mail settings: the API's environment applies again (audited)" })
  @ApiOkResponse({ type: MailSettingsDto })
  async reset(@CurrentActor() actor: Actor): Promise<MailSettingsDto> {
    await this.ds.transaction(async (m) => {
      const saved = await this.settings.save(m, null, undefined, actor.userId);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'settings.mail_reset', targetType: 'settings', targetId: 'mail', ip: actor.ip, details: { version: saved.version } });
    });
    return view(await this.settings.effective());
  }

  @Post('test')
  @HttpCode(200)
  @ApiOperation({ summary: "Send a test mail now with the settings in force (not through the queue) and answer what the SMTP server said (audited)" })
  @ApiOkResponse({ type: MailTestResultDto })
  async test(@CurrentActor() actor: Actor, @Body() dto: MailTestDto): Promise<MailTestResultDto> {
    const result = await this.mail.sendTest(dto.to);
    await this.ds.transaction((m) =>
      this.audit.record(m, {
        tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'settings.mail_test', targetType: 'settings', targetId: 'mail', ip: actor.ip,
        details: { to: dto.to, sent: result.sent, responseCode: result.responseCode, errorCode: result.errorCode },
      }),
    );
    return result;
  }
}
