import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, STAFF_ROLES, TENANT_ROLES,
  type AuthTokensView, type MeView, type RecoveryCodesView, type SessionView, type StaffRole, type TenantRole, type TwoFactorChallengeView, type TwoFactorSetupView,
} from '@oblako/contracts';
import { IsEmail, IsNotEmpty, IsString, Length, MaxLength } from 'class-validator';
import { IsNotBlank } from '../common/validators.js';

export class RegisterDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsEmail({}, { message: 'email must be an email address such as alice@example.com' })
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long` })
  password: string;

  @ApiProperty({ example: 'Acme Ltd', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotBlank({ message: 'tenantName must name your organisation' })
  @MaxLength(NAME_MAX_LENGTH)
  tenantName: string;
}

export class LoginDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  email: string;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from login, register or the previous refresh.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  refreshToken: string;
}

export class MembershipDto {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() tenantName: string;
  @ApiProperty({ enum: TENANT_ROLES }) role: TenantRole;
  @ApiPropertyOptional({ description: 'The tenant requires two-factor sign-in of every member' }) requireTwoFactor?: boolean;
  @ApiPropertyOptional({ format: 'date-time', nullable: true, type: String, description: 'Set while staff have suspended the team (no new orders, servers held)' }) suspendedAt?: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Why staff suspended the team' }) suspendedReason?: string | null;
}

export class MeDto implements MeView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: STAFF_ROLES, nullable: true, type: String }) staffRole: StaffRole | null;
  @ApiProperty({ type: [MembershipDto] }) memberships: MembershipDto[];
  @ApiPropertyOptional({ description: 'False until the address is confirmed; unverified accounts cannot order' }) emailVerified?: boolean;
  @ApiPropertyOptional() twoFactorEnabled?: boolean;
  @ApiPropertyOptional({ description: 'Staff must use two-factor sign-in and this user has not set it up' }) twoFactorRequiredForStaff?: boolean;
}

export class AuthTokensDto implements AuthTokensView {
  @ApiProperty() accessToken: string;
  @ApiProperty({ description: 'Seconds until the access token expires.' }) expiresIn: number;
  @ApiProperty({ description: 'Use once with POST /auth/refresh; each refresh returns a new one.' }) refreshToken: string;
  @ApiProperty({ type: MeDto }) user: MeDto;
}

export class LogoutDto extends RefreshDto {}

export class OptionalTenantHeaderDoc {
  @ApiPropertyOptional() tenantId?: string;
}

const CODE_HINT = 'code must be the 6-digit code from your authenticator app, or a recovery code such as abcd-efgh-jkmn';

export class RegisterWithInviteDto {
  @ApiProperty({ description: 'The token from the invitation link' }) @IsString() @IsNotEmpty() @MaxLength(200) inviteToken: string;
  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long` })
  password: string;
}

export class TwoFactorChallengeDto implements TwoFactorChallengeView {
  @ApiProperty({ enum: [true] }) twoFactorRequired: true;
  @ApiProperty({ description: 'Send it back with a code to POST /auth/login/2fa; single use' }) challengeToken: string;
  @ApiProperty({ description: 'Seconds the challenge stays valid' }) expiresIn: number;
  @ApiProperty({ enum: ['totp', 'recovery_code'], isArray: true }) methods: ('totp' | 'recovery_code')[];
}

export class LoginTwoFactorDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200) challengeToken: string;
  @ApiProperty({ example: '123456', description: 'A code from the authenticator app, or a recovery code' })
  @IsString({ message: CODE_HINT }) @Length(6, 32, { message: CODE_HINT }) code: string;
}

export class PasswordDto {
  @ApiProperty() @IsString() @IsNotEmpty({ message: 'password is required: enter your current password' }) @MaxLength(PASSWORD_MAX_LENGTH) password: string;
}

export class CodeDto {
  @ApiProperty({ example: '123456' }) @IsString({ message: CODE_HINT }) @Length(6, 32, { message: CODE_HINT }) code: string;
}

export class PasswordAndCodeDto extends PasswordDto {
  @ApiProperty({ example: '123456', description: 'A current code from the app, or a recovery code' })
  @IsString({ message: CODE_HINT }) @Length(6, 32, { message: CODE_HINT }) code: string;
}

export class TwoFactorSetupDto implements TwoFactorSetupView {
  @ApiProperty({ description: 'Base32 secret for typing into the app by hand' }) secret: string;
  @ApiProperty({ description: 'otpauth:// URI (shown as a QR code)' }) otpauthUri: string;
}

export class RecoveryCodesDto implements RecoveryCodesView {
  @ApiProperty({ type: [String], description: 'Shown once; each works once' }) recoveryCodes: string[];
}

export class ChangePasswordDto {
  @ApiProperty() @IsString() @IsNotEmpty({ message: 'currentPassword is required' }) @MaxLength(PASSWORD_MAX_LENGTH) currentPassword: string;
  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: `newPassword must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long` })
  newPassword: string;
}

export class EmailDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsEmail({}, { message: 'email must be an email address such as alice@example.com' })
  @MaxLength(254)
  email: string;
}

export class TokenDto {
  @ApiProperty({ description: 'The token from the link in the mail' }) @IsString() @IsNotEmpty({ message: 'token is required: open the link from the mail' }) @MaxLength(200) token: string;
}

export class ResetPasswordDto extends TokenDto {
  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long` })
  password: string;
}

export class AcceptedDto {
  @ApiProperty({ description: 'What happens next' }) message: string;
}

export class SessionDto implements SessionView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'The session this request was made with' }) current: boolean;
  @ApiProperty({ nullable: true, type: String }) ip: string | null;
  @ApiProperty({ nullable: true, type: String }) userAgent: string | null;
  @ApiProperty({ example: 'Firefox on Linux' }) device: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) lastUsedAt: string;
  @ApiProperty({ description: 'Signed in with a second factor' }) twoFactor: boolean;
}

export class VerifiedEmailDto {
  @ApiProperty() email: string;
}
