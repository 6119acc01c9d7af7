import { Body, Controller, Get, HttpCode, Inject, Ip, Post } from '@nestjs/common';
import { ApiDefaultResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorDto } from '../common/api-error.dto.js';
import type { AuthTokensView, MeView } from '@oblako/contracts';
import { Authenticated } from '../common/guards.js';
import { CurrentPrincipal, type Principal } from '../common/request-context.js';
import { AuthTokensDto, LoginDto, LogoutDto, MeDto, RefreshDto, RegisterDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';

@ApiTags('auth')
@ApiDefaultResponse({ type: ApiErrorDto, description: 'Error (ApiError)' })
@Controller('api/v1/auth')
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Post('register')
  @ApiOperation({ summary: 'Create a tenant and its owner, and log in' })
  @ApiOkResponse({ type: AuthTokensDto })
  register(@Body() dto: RegisterDto, @Ip() ip: string): Promise<AuthTokensView> {
    return this.auth.register(dto, ip);
  }

  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: AuthTokensDto })
  login(@Body() dto: LoginDto, @Ip() ip: string): Promise<AuthTokensView> {
    return this.auth.login(dto.email, dto.password, ip);
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'Trade a refresh token for new tokens (the old one is spent; using it again ends the login)' })
  @ApiOkResponse({ type: AuthTokensDto })
  refresh(@Body() dto: RefreshDto): Promise<AuthTokensView> {
    return this.auth.refresh(dto.refreshToken);
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
}
