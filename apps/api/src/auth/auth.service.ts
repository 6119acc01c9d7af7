import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthTokensView, MeView, StaffRole } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { Principal } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { MembershipEntity, TenantEntity, UserEntity } from '../tenants/tenant.entities.js';
import { AuthError } from './auth.errors.js';
import { LoginThrottle } from './login-throttle.js';
import { dummyPasswordHash, hashPassword, newSecret, sha256Hex, verifyPassword } from './secrets.js';
import { RefreshSessionEntity, RefreshTokenEntity } from './session.entities.js';

/** Claims of an access token. `sid` is the login session; ending it ends the token too. */
export interface AccessClaims {
  sub: string;
  sid: string;
  typ: 'access';
}

@Injectable()
export class AuthService {
  private readonly throttle = new LoginThrottle();

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(JwtService) private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async register(input: { email: string; password: string; tenantName: string }, ip: string | null): Promise<AuthTokensView> {
    const email = input.email.trim().toLowerCase();
    const passwordHash = await hashPassword(input.password);
    return this.ds.transaction(async (m) => {
      const taken = await m.query('SELECT 1 FROM users WHERE lower(email) = $1', [email]);
      if (taken.length) throw new AuthError('email_taken', 'An account with this email already exists; log in instead, or reset the password.');
      const tenant = await m.save(m.create(TenantEntity, { name: input.tenantName.trim(), stripeCustomerId: null }));
      const user = await m.save(m.create(UserEntity, { email, passwordHash, staffRole: null }));
      await m.save(m.create(MembershipEntity, { tenantId: tenant.id, userId: user.id, role: 'owner' }));
      await this.audit.record(m, { tenantId: tenant.id, actorUserId: user.id, actorKind: 'user', action: 'tenant.register', targetType: 'tenant', targetId: tenant.id, ip });
      return this.openSession(m, user.id);
    });
  }

  async login(emailRaw: string, password: string, ip: string | null = null): Promise<AuthTokensView> {
    const email = emailRaw.trim().toLowerCase();
    const key = `${email}|${ip ?? '-'}`;
    const wait = this.throttle.retryAfterMs(key);
    if (wait > 0) {
      throw new AuthError('too_many_attempts', `Too many failed logins; try again in ${Math.ceil(wait / 60_000)} minute(s), or reset the password.`);
    }
    const user = await this.ds
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.email) = :email', { email })
      .getOne();
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!user || !ok) {
      this.throttle.fail(key);
      throw new AuthError('invalid_credentials', 'The email or password is wrong.');
    }
    this.throttle.succeed(key);
    return this.ds.transaction((m) => this.openSession(m, user.id));
  }

  /** Rotate: the presented refresh token is spent and a new one issued. A spent token presented again ends the whole session. */
  async refresh(refreshToken: string): Promise<AuthTokensView> {
    const outcome = await this.ds.transaction(async (m) => {
      const rows: { id: string; session_id: string; used_at: Date | null; user_id: string; revoked_at: Date | null; expires_at: Date }[] = await m.query(
        `SELECT t.id, t.session_id, t.used_at, s.user_id, s.revoked_at, s.expires_at
           FROM refresh_tokens t JOIN refresh_sessions s ON s.id = t.session_id
          WHERE t.token_hash = $1 FOR UPDATE OF t, s`,
        [sha256Hex(refreshToken)],
      );
      const row = rows[0];
      if (!row) return { error: new AuthError('invalid_refresh_token', 'The refresh token is not valid; log in again.') };
      if (row.revoked_at) return { error: new AuthError('session_ended', 'This login has ended (logged out or revoked); log in again.') };
      if (row.used_at) {
        await m.query(`UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reuse' WHERE id = $1`, [row.session_id]);
        await this.audit.record(m, { tenantId: null, actorUserId: row.user_id, actorKind: 'user', action: 'auth.refresh_token_reused', targetType: 'session', targetId: row.session_id, ip: null });
        return { error: new AuthError('refresh_token_reused', 'This refresh token was already used once; for safety the whole login has been ended. Log in again.') };
      }
      if (row.expires_at.getTime() <= Date.now()) return { error: new AuthError('session_ended', 'This login has expired; log in again.') };
      await m.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [row.id]);
      const next = await this.issueRefreshToken(m, row.session_id);
      return { tokens: await this.tokensFor(m, row.user_id, row.session_id, next) };
    });
    if ('error' in outcome) throw outcome.error;
    return outcome.tokens;
  }

  /** End the login the refresh token belongs to; its access tokens stop working at once. */
  async logout(refreshToken: string): Promise<void> {
    await this.ds.query(
      `UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = 'logout'
        WHERE revoked_at IS NULL AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)`,
      [sha256Hex(refreshToken)],
    );
  }

  async me(userId: string): Promise<MeView> {
    return this.meWith(this.ds.manager, userId);
  }

  /** Called by the JWT strategy for every request: the user must exist and the session must be live. */
  async principalForAccessToken(claims: AccessClaims): Promise<Principal | null> {
    if (claims.typ !== 'access' || !claims.sub || !claims.sid) return null;
    const rows: { id: string; email: string; staff_role: StaffRole | null }[] = await this.ds.query(
      `SELECT u.id, u.email, u.staff_role FROM users u
         JOIN refresh_sessions s ON s.user_id = u.id AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
        WHERE u.id = $1`,
      [claims.sub, claims.sid],
    );
    const u = rows[0];
    if (!u) return null;
    return { kind: 'user', userId: u.id, email: u.email, staffRole: u.staff_role, sessionId: claims.sid, apiTokenId: null, apiTokenTenantId: null };
  }

  private async openSession(m: EntityManager, userId: string): Promise<AuthTokensView> {
    const session = await m.save(
      m.create(RefreshSessionEntity, { userId, expiresAt: new Date(Date.now() + this.config.refreshTokenTtlSeconds * 1000), revokedAt: null, revokedReason: null }),
    );
    const refreshToken = await this.issueRefreshToken(m, session.id);
    return this.tokensFor(m, userId, session.id, refreshToken);
  }

  private async issueRefreshToken(m: EntityManager, sessionId: string): Promise<string> {
    const token = newSecret('ort');
    await m.insert(RefreshTokenEntity, { sessionId, tokenHash: sha256Hex(token), usedAt: null });
    return token;
  }

  private async tokensFor(m: EntityManager, userId: string, sessionId: string, refreshToken: string): Promise<AuthTokensView> {
    const claims: AccessClaims = { sub: userId, sid: sessionId, typ: 'access' };
    const accessToken = await this.jwt.signAsync(claims, { expiresIn: this.config.accessTokenTtlSeconds });
    return { accessToken, expiresIn: this.config.accessTokenTtlSeconds, refreshToken, user: await this.meWith(m, userId) };
  }

  private async meWith(m: EntityManager, userId: string): Promise<MeView> {
    const user = await m.findOneByOrFail(UserEntity, { id: userId });
    const memberships: { tenant_id: string; name: string; role: MeView['memberships'][number]['role'] }[] = await m.query(
      `SELECT ms.tenant_id, t.name, ms.role FROM memberships ms JOIN tenants t ON t.id = ms.tenant_id WHERE ms.user_id = $1 ORDER BY ms.created_at, ms.id`,
      [userId],
    );
    return {
      id: user.id,
      email: user.email,
      staffRole: user.staffRole,
      memberships: memberships.map((r) => ({ tenantId: r.tenant_id, tenantName: r.name, role: r.role })),
    };
  }
}
