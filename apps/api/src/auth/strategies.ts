import { createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategyBase } from 'passport-jwt';
import { ApiTokensService } from '../api-tokens/api-tokens.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { OblakoRequest, Principal } from '../common/request-context.js';
import { askedTenantId } from '../common/tenant-membership.js';
import type { AppConfig } from '../config/config.js';
import { AuthService, type AccessClaims } from './auth.service.js';

export const API_TOKEN_PREFIX = 'oat';

@Injectable()
export class JwtStrategy extends PassportStrategy(JwtStrategyBase, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {
    // jsonwebtoken turns a string secret into a key on every verify, first trying (and failing, with a thrown error) to
    // read it as a PEM public key: 2.4-3.0 ms a verify on this loaded machine against 0.04-0.07 ms with the key made
    // once (jsonwebtoken 9.0.3). Same bytes (UTF-8 of JWT_SECRET), so tokens signed with the string verify alike.
    // passport-jwt's types say string | Buffer; it hands the value to jsonwebtoken, which takes a KeyObject.
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: createSecretKey(Buffer.from(config.jwtSecret, 'utf8')) as unknown as Buffer,
      algorithms: ['HS256'],
      ignoreExpiration: false,
      passReqToCallback: true,
    });
  }

  /** The principal, and with it (same statement) the membership of the tenant the request asks for. */
  async validate(req: OblakoRequest, claims: AccessClaims): Promise<Principal | null> {
    const asked = askedTenantId(req);
    const found = await this.auth.principalForAccessToken(claims, asked === 'invalid' ? undefined : asked);
    if (!found) return null;
    if (found.membership) req.membership = found.membership;
    return found.principal;
  }
}

type VerifyApiToken = (req: OblakoRequest, token: string, done: (err: unknown, user?: Principal | false) => void) => void;

/** Passport strategy for `Authorization: Bearer oat_...` API tokens. Anything else it leaves to the JWT strategy. */
class BearerApiTokenStrategy extends passport.Strategy {
  override name = 'api-token';
  constructor(private readonly verify: VerifyApiToken) {
    super();
  }
  override authenticate(req: OblakoRequest): void {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const token = m?.[1];
    if (!token || !token.startsWith(`${API_TOKEN_PREFIX}_`)) return this.fail(401);
    this.verify(req, token, (err, user) => {
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

  /** The token's principal, and with it (same statement) the membership in the token's tenant. */
  async validate(req: OblakoRequest, token: string): Promise<Principal | null> {
    const found = await this.tokens.principalForToken(token);
    if (!found) return null;
    req.membership = found.membership;
    return found.principal;
  }
}
