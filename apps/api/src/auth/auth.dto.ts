import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, STAFF_ROLES, TENANT_ROLES,
  type AuthTokensView, type MeView, type StaffRole, type TenantRole,
} from '@oblako/contracts';
import { IsEmail, IsNotEmpty, IsString, Length, MaxLength } from 'class-validator';

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
  @IsNotEmpty({ message: 'tenantName must name your organisation' })
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
}

export class MeDto implements MeView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: STAFF_ROLES, nullable: true, type: String }) staffRole: StaffRole | null;
  @ApiProperty({ type: [MembershipDto] }) memberships: MembershipDto[];
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
