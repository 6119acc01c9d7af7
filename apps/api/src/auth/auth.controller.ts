import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Ip, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiDefaultResponse, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { ApiErrorDto } from '../common/api-error.dto.js';
import type { AuthTokensView, LoginResultView, MeView, SessionView } from '@oblako/contracts';
import { Authenticated } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentPrincipal, type Principal } from '../common/request-context.js';
import {
  AcceptedDto, AuthTokensDto, ChangePasswordDto, CodeDto, EmailDto, LoginDto, LoginTwoFactorDto, LogoutDto, MeDto, PasswordAndCodeDto, PasswordDto,
  RecoveryCodesDto, RefreshDto, RegisterDto, RegisterWithInviteDto, ResetPasswordDto, SessionDto, TokenDto, TwoFactorChallengeDto, TwoFactorSetupDto, VerifiedEmailDto,
} from './auth.dto.js';
import { AuthService, type ClientInfo } from './auth.service.js';

const client = (ip: string | undefined, userAgent: string | undefined): ClientInfo => ({ ip: ip ?? null, userAgent: userAgent ?? null });

/** What POST /auth/password-reset always answers, whether or not the address has an account. */
export const RESET_REQUESTED = 'If an account uses this address, a link to reset its password is on its way. It works once, for one hour.';

@ApiTags('auth')
@ApiDefaultResponse({ type: ApiErrorDto, description: 'Error (ApiError)' })
@ApiExtraModels(AuthTokensDto, TwoFactorChallengeDto)
@Controller('api/v1/auth')
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Post('register')
  @ApiOperation({ summary: 'Create a tenant and its owner, and log in. A mail asks to confirm the address; unverified accounts cannot order' })
  @ApiOkResponse({ type: AuthTokensDto })
  register(@Body() dto: RegisterDto, @Ip() ip: string, @Headers('user-agent') ua?: string): Promise<AuthTokensView> {
    return this.auth.register(dto, client(ip, ua));
  }

  @Post('register/invite')
  @ApiOperation({ summary: 'Sign up with an invitation link: the account gets the invited address (verified) and joins the inviting tenant' })
  @ApiOkResponse({ type: AuthTokensDto })
  registerWithInvite(@Body() dto: RegisterWithInviteDto, @Ip() ip: string, @Headers('user-agent') ua?: string): Promise<AuthTokensView> {
    return this.auth.register({ inviteToken: dto.inviteToken, password: dto.password }, client(ip, ua));
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in. With two-factor sign-in on, the answer is a challenge (twoFactorRequired) to complete with POST /auth/login/2fa' })
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(AuthTokensDto) }, { $ref: getSchemaPath(TwoFactorChallengeDto) }] } })
  login(@Body() dto: LoginDto, @Ip() ip: string, @Headers('user-agent') ua?: string): Promise<LoginResultView> {
    return this.auth.login(dto.email, dto.password, client(ip, ua));
  }

  @Post('login/2fa')
  @HttpCode(200)
  @ApiOperation({ summary: 'Second step of a two-factor login: the challenge token and a code from the app (or a recovery code, which works once)' })
  @ApiOkResponse({ type: AuthTokensDto })
  loginTwoFactor(@Body() dto: LoginTwoFactorDto, @Ip() ip: string, @Headers('user-agent') ua?: string): Promise<AuthTokensView> {
    return this.auth.loginTwoFactor(dto.challengeToken, dto.code, client(ip, ua));
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'Trade a refresh token for new tokens (the old one is spent; using it again ends the login)' })
  @ApiOkResponse({ type: AuthTokensDto })
  refresh(@Body() dto: RefreshDto, @Ip() ip: string, @Headers('user-agent') ua?: string): Promise<AuthTokensView> {
    return this.auth.refresh(dto.refreshToken, client(ip, ua));
  }

  @Post('logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'End the login the refresh token belongs to; its access tokens stop working too' })
  logout(@Body() dto: LogoutDto): Promise<void> {
    return this.auth.logout(dto.refreshToken);
  }

  @Get('me')
  @Authenticated()
  @ApiOkResponse({ type: MeDto })
  me(@CurrentPrincipal() principal: Principal): Promise<MeView> {
    return this.auth.me(principal.userId);
  }

  // ---- email verification

  @Post('verify-email')
  @HttpCode(200)
  @ApiOperation({ summary: 'Confirm the address with the token from the verification mail (works once)' })
  @ApiOkResponse({ type: VerifiedEmailDto })
  verifyEmail(@Body() dto: TokenDto, @Ip() ip: string): Promise<{ email: string }> {
    return this.auth.verifyEmail(dto.token, ip);
  }

  @Post('verify-email/resend')
  @HttpCode(202)
  @Authenticated()
  @ApiOperation({ summary: 'Mail a new verification link (once a minute, five a day); older links stop working' })
  @ApiAcceptedResponse({ type: AcceptedDto })
  async resendVerification(@CurrentPrincipal() principal: Principal): Promise<AcceptedDto> {
    await this.auth.resendVerification(principal.userId);
    return { message: `A new link is on its way to ${principal.email}.` };
  }

  // ---- password

  @Post('password-reset')
  @HttpCode(202)
  @ApiOperation({ summary: 'Ask for a password reset link. The answer is the same whether or not the address has an account' })
  @ApiAcceptedResponse({ type: AcceptedDto })
  async requestPasswordReset(@Body() dto: EmailDto, @Ip() ip: string): Promise<AcceptedDto> {
    await this.auth.requestPasswordReset(dto.email, ip);
    return { message: RESET_REQUESTED };
  }

  @Post('password-reset/confirm')
  @HttpCode(204)
  @ApiOperation({ summary: 'Set a new password with the token from the reset mail (works once, for an hour); every session ends' })
  confirmPasswordReset(@Body() dto: ResetPasswordDto, @Ip() ip: string): Promise<void> {
    return this.auth.confirmPasswordReset(dto.token, dto.password, ip);
  }

  @Post('password')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'Change the password (needs the current one); your other sessions end' })
  changePassword(@CurrentPrincipal() principal: Principal, @Body() dto: ChangePasswordDto, @Ip() ip: string): Promise<void> {
    return this.auth.changePassword(principal, dto.currentPassword, dto.newPassword, ip);
  }

  // ---- two-factor sign-in

  @Post('2fa/setup')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({ summary: 'Start enrolment (needs the password): a new secret and its otpauth URI for the QR code; confirm with POST /auth/2fa/enable' })
  @ApiOkResponse({ type: TwoFactorSetupDto })
  setupTwoFactor(@CurrentPrincipal() principal: Principal, @Body() dto: PasswordDto): Promise<TwoFactorSetupDto> {
    return this.auth.startTwoFactorSetup(principal, dto.password);
  }

  @Post('2fa/enable')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({ summary: 'Confirm enrolment with one code from the app; answers the 10 recovery codes (shown once)' })
  @ApiOkResponse({ type: RecoveryCodesDto })
  async enableTwoFactor(@CurrentPrincipal() principal: Principal, @Body() dto: CodeDto, @Ip() ip: string): Promise<RecoveryCodesDto> {
    return { recoveryCodes: await this.auth.enableTwoFactor(principal, dto.code, ip) };
  }

  @Post('2fa/disable')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'Turn two-factor sign-in off: needs the password and a current code (or a recovery code)' })
  disableTwoFactor(@CurrentPrincipal() principal: Principal, @Body() dto: PasswordAndCodeDto, @Ip() ip: string): Promise<void> {
    return this.auth.disableTwoFactor(principal, dto.password, dto.code, ip);
  }

  @Post('2fa/recovery-codes')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({ summary: 'Replace the recovery codes (needs the password and a code); the old ones stop working' })
  @ApiOkResponse({ type: RecoveryCodesDto })
  async regenerateRecoveryCodes(@CurrentPrincipal() principal: Principal, @Body() dto: PasswordAndCodeDto, @Ip() ip: string): Promise<RecoveryCodesDto> {
    return { recoveryCodes: await this.auth.regenerateRecoveryCodes(principal, dto.password, dto.code, ip) };
  }

  // ---- sessions

  @Get('sessions')
  @Authenticated()
  @ApiOperation({ summary: 'Your signed-in sessions: device, address, last use' })
  @ApiOkResponse({ type: [SessionDto] })
  sessions(@CurrentPrincipal() principal: Principal): Promise<SessionView[]> {
    return this.auth.sessions(principal);
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'End one of your sessions (its tokens stop working at once)' })
  endSession(@CurrentPrincipal() principal: Principal, @UuidParam() id: string, @Ip() ip: string): Promise<void> {
    return this.auth.endSession(principal, id, ip);
  }
}
