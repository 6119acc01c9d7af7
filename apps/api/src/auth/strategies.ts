import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategyBase } from 'passport-jwt';
import type { Request } from 'express';
import { ApiTokensService } from '../api-tokens/api-tokens.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { Principal } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { AuthService, type AccessClaims } from './auth.service.js';

export const API_TOKEN_PREFIX = 'oat';

@Injectable()
export class JwtStrategy extends PassportStrategy(JwtStrategyBase, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: config.jwtSecret, algorithms: ['HS256'], ignoreExpiration: false });
  }

  validate(claims: AccessClaims): Promise<Principal | null> {
    return this.auth.principalForAccessToken(claims);
  }
}

type VerifyApiToken = (token: string, done: (err: unknown, user?: Principal | false) => void) => void;

/** Passport strategy for `Authorization: Bearer oat_...` API tokens. Anything else it leaves to the JWT strategy. */
class BearerApiTokenStrategy extends passport.Strategy {
  override name = 'api-token';
  constructor(private readonly verify: VerifyApiToken) {
    super();
  }
  override authenticate(req: Request): void {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const token = m?.[1];
    if (!token || !token.startsWith(`${API_TOKEN_PREFIX}_`)) return this.fail(401);
    this.verify(token, (err, user) => {
      if (err) return this.error(err);
      if (!user) return this.fail(401);
      return this.success(user);
    });
  }
}

@Injectable()
export class ApiTokenStrategy extends PassportStrategy(BearerApiTokenStrategy, 'api-token') {
  constructor(@Inject(ApiTokensService) private readonly tokens: ApiTokensService) {
    super();
  }

  validate(token: string): Promise<Principal | null> {
    return this.tokens.principalForToken(token);
  }
}
