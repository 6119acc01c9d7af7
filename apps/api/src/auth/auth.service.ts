import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthTokensView, LoginResultView, MeView, SessionView, StaffRole, TenantRole, TwoFactorChallengeView, TwoFactorSetupView } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { MembershipLookup, Principal } from '../common/request-context.js';
import { membershipSql } from '../common/tenant-membership.js';
import type { AppConfig } from '../config/config.js';
import { MailService } from '../mail/mail.service.js';
import { accountMail } from '../mail/templates.js';
import { InvitesService } from '../tenants/invites.service.js';
import { MembershipEntity, TenantEntity, UserEntity } from '../tenants/tenant.entities.js';
import { AuthError } from './auth.errors.js';
import { LOGIN_RULES, LoginThrottle, minutes, TWO_FACTOR_RULES, type ThrottleRule } from './login-throttle.js';
import { dummyPasswordHash, hashPassword, newSecret, sha256Hex, verifyPassword } from './secrets.js';
import { RefreshSessionEntity, RefreshTokenEntity } from './session.entities.js';
import { newTotpSecret, otpauthUri, SETUP_TTL_SECONDS, totpStep, TwoFactorStore } from './two-factor.js';
import { describeUserAgent } from './user-agent.js';
import { staffRequireTwoFactor } from './staff-policy.js';

/** Claims of an access token. `sid` is the login session; ending it ends the token too. */
export interface AccessClaims {
  sub: string;
  sid: string;
  typ: 'access';
}

/** Where a request came from, kept with the session it opens. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export const CHALLENGE_TTL_SECONDS = 5 * 60;
const CHALLENGE_MAX_FAILURES = 5;
export const VERIFY_EMAIL_TTL_SECONDS = 24 * 3600;
export const RESET_PASSWORD_TTL_SECONDS = 3600;
const RESEND_RULES = (userId: string): ThrottleRule[] => [
  { key: `verify-resend:${userId}`, max: 1, windowMs: 60_000 },
  { key: `verify-resend-day:${userId}`, max: 5, windowMs: 24 * 3600_000 },
];
/** Same limits for every address, known or not, so the answer says nothing about accounts. */
const RESET_RULES = (email: string, ip: string | null): ThrottleRule[] => [
  { key: `reset:${email}`, max: 3, windowMs: 3600_000 },
  { key: `reset-ip:${ip ?? '-'}`, max: 20, windowMs: 3600_000 },
];

const tooMany = (ms: number, what: string) =>
  new AuthError('too_many_attempts', `Too many ${what}; try again in ${minutes(ms)} minute(s).`, Math.ceil(ms / 1000));

@Injectable()
export class AuthService {
  readonly throttle: LoginThrottle;
  readonly twoFactor: TwoFactorStore;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(JwtService) private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(MailService) private readonly mail: MailService,
    @Inject(InvitesService) private readonly invites: InvitesService,
  ) {
    this.throttle = new LoginThrottle(ds);
    this.twoFactor = new TwoFactorStore(config.dataKey);
  }

  // ---- sign-up and email verification

  /**
   * A new tenant with its owner (or, with an invitation, a new member of the inviting tenant).
   * The verification mail is queued in the same transaction; with an invitation the address is
   * verified already (the link reached it).
   */
  async register(input: { email?: string; password: string; tenantName?: string; inviteToken?: string }, client: ClientInfo): Promise<AuthTokensView> {
    if (input.inviteToken) {
      const invite = await this.invites.preview(input.inviteToken);
      input = { ...input, email: invite.email };
    } else if (!input.tenantName?.trim() || !input.email) {
      throw new AuthError('invalid_token', 'Sign-up needs email, password and tenantName (or an inviteToken from an invitation mail).');
    }
    const email = input.email!.trim().toLowerCase();
    const passwordHash = await hashPassword(input.password);
    const tokens = await this.ds.transaction(async (m) => {
      const taken = await m.query('SELECT 1 FROM users WHERE lower(email) = $1', [email]);
      if (taken.length) {
        throw new AuthError('email_taken', input.inviteToken
          ? 'This address has an account already: log in and open the invitation link again to accept it.'
          : 'An account with this email already exists; log in instead, or reset the password from the login page.');
      }
      const user = await m.save(m.create(UserEntity, { email, passwordHash, staffRole: null }));
      if (input.inviteToken) {
        await this.invites.consume(m, input.inviteToken, user.id, email, client.ip);
      } else {
        const tenant = await m.save(m.create(TenantEntity, { name: input.tenantName!.trim(), stripeCustomerId: null }));
        await m.save(m.create(MembershipEntity, { tenantId: tenant.id, userId: user.id, role: 'owner' }));
        await this.audit.record(m, { tenantId: tenant.id, actorUserId: user.id, actorKind: 'user', action: 'tenant.register', targetType: 'tenant', targetId: tenant.id, ip: client.ip });
        await this.queueVerification(m, user.id, email);
      }
      return this.openSession(m, user.id, client, false);
    });
    this.mail.wake();
    return tokens;
  }

  private async queueVerification(m: EntityManager, userId: string, email: string): Promise<void> {
    // Only the newest link works.
    await m.query(`UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'verify_email' AND used_at IS NULL`, [userId]);
    const token = newSecret('ove');
    await m.query(
      `INSERT INTO one_time_tokens (user_id, purpose, email, token_hash, expires_at) VALUES ($1, 'verify_email', $2, $3, now() + make_interval(secs => $4))`,
      [userId, email, sha256Hex(token), VERIFY_EMAIL_TTL_SECONDS],
    );
    await this.mail.enqueue(m, { to: email, template: 'verify_email', userId, content: (b) => accountMail.verifyEmail(b, token) });
  }

  async resendVerification(userId: string): Promise<void> {
    const [u]: { email: string; email_verified_at: Date | null }[] = await this.ds.query('SELECT email, email_verified_at FROM users WHERE id = $1', [userId]);
    if (!u) throw new AuthError('session_ended', 'This login has ended; log in again.');
    if (u.email_verified_at) throw new AuthError('already_verified', 'Your address is verified already.');
    const t = await this.throttle.attempt(RESEND_RULES(userId));
    if (!t.allowed) throw tooMany(t.retryAfterMs, 'verification mails asked for');
    await this.ds.transaction((m) => this.queueVerification(m, userId, u.email));
    this.mail.wake();
  }

  async verifyEmail(token: string, ip: string | null): Promise<{ email: string }> {
    return this.ds.transaction(async (m) => {
      const row = await this.spendToken(m, 'verify_email', token);
      const res: [unknown[], number] = await m.query('UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1 AND lower(email) = lower($2)', [row.user_id, row.email]);
      if (!res[1]) throw invalidLink('verification');
      await this.audit.record(m, { tenantId: null, actorUserId: row.user_id, actorKind: 'user', action: 'auth.email_verified', targetType: 'user', targetId: row.user_id, ip });
      return { email: row.email };
    });
  }

  /** Spend a single-use link token: found by hash, unexpired, unused; marked used in the same transaction. */
  private async spendToken(m: EntityManager, purpose: 'verify_email' | 'reset_password', token: string): Promise<{ user_id: string; email: string }> {
    const [row]: { id: string; user_id: string; email: string }[] = await m.query(
      `SELECT id, user_id, email FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now() FOR UPDATE`,
      [sha256Hex(token), purpose],
    );
    if (!row) throw invalidLink(purpose === 'verify_email' ? 'verification' : 'reset');
    await m.query('UPDATE one_time_tokens SET used_at = now() WHERE id = $1', [row.id]);
    return row;
  }

  // ---- password reset

  /**
   * Ask for a reset link. The answer is the same whether or not the address has an account: the
   * request is stored as it is (the same work either way) and the mail worker looks the address up.
   */
  async requestPasswordReset(emailRaw: string, ip: string | null): Promise<void> {
    const email = emailRaw.trim().toLowerCase();
    const t = await this.throttle.attempt(RESET_RULES(email, ip));
    if (!t.allowed) throw tooMany(t.retryAfterMs, 'password reset requests');
    await this.ds.query(`INSERT INTO account_requests (kind, email, ip) VALUES ('password_reset', $1, $2)`, [email, ip]);
    this.wakeRequests?.();
  }

  /** Set by the account-requests worker so a request is handled at once rather than at the next poll. */
  wakeRequests: (() => void) | null = null;

  /** Handle stored reset requests (the worker calls this); returns how many. */
  async processAccountRequests(limit = 20): Promise<number> {
    const done = await this.ds.transaction(async (m) => {
      const rows: { id: string; email: string; ip: string | null }[] = await m.query(
        `SELECT id, email, ip FROM account_requests WHERE processed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      for (const r of rows) {
        const [user]: { id: string; email: string }[] = await m.query('SELECT id, email FROM users WHERE lower(email) = $1', [r.email]);
        if (user) {
          await m.query(`UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'reset_password' AND used_at IS NULL`, [user.id]);
          const token = newSecret('orp');
          await m.query(
            `INSERT INTO one_time_tokens (user_id, purpose, email, token_hash, expires_at) VALUES ($1, 'reset_password', $2, $3, now() + make_interval(secs => $4))`,
            [user.id, user.email, sha256Hex(token), RESET_PASSWORD_TTL_SECONDS],
          );
          await this.mail.enqueue(m, { to: user.email, template: 'password_reset', userId: user.id, content: (b) => accountMail.passwordReset(b, token) });
          await this.audit.record(m, { tenantId: null, actorUserId: user.id, actorKind: 'user', action: 'auth.password_reset_requested', targetType: 'user', targetId: user.id, ip: r.ip });
        }
        await m.query('UPDATE account_requests SET processed_at = now() WHERE id = $1', [r.id]);
      }
      return rows.length;
    });
    if (done) this.mail.wake();
    return done;
  }

  /** Set a new password with a reset link: every session ends (a reset means the old password may be known). */
  async confirmPasswordReset(token: string, password: string, ip: string | null): Promise<void> {
    const passwordHash = await hashPassword(password);
    await this.ds.transaction(async (m) => {
      const row = await this.spendToken(m, 'reset_password', token);
      await m.query('UPDATE users SET password_hash = $2, password_changed_at = now(), email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1', [row.user_id, passwordHash]);
      await m.query(`UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = 'password_reset' WHERE user_id = $1 AND revoked_at IS NULL`, [row.user_id]);
      await m.query(`UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'reset_password' AND used_at IS NULL`, [row.user_id]);
      await m.query(`DELETE FROM auth_throttle WHERE key LIKE 'login:' || $1 || '|%'`, [row.email.toLowerCase()]);
      await this.mail.enqueue(m, { to: row.email, template: 'password_changed', userId: row.user_id, content: (b) => accountMail.passwordChanged(b, 'reset') });
      await this.audit.record(m, { tenantId: null, actorUserId: row.user_id, actorKind: 'user', action: 'auth.password_reset', targetType: 'user', targetId: row.user_id, ip });
    });
    this.mail.wake();
  }

  /** Change the password knowing the current one; the caller's session stays, the others end. */
  async changePassword(principal: Principal, current: string, next: string, ip: string | null): Promise<void> {
    await this.checkPassword(principal.userId, current);
    const passwordHash = await hashPassword(next);
    await this.ds.transaction(async (m) => {
      await m.query('UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1', [principal.userId, passwordHash]);
      await m.query(
        `UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = 'password_changed' WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2::uuid`,
        [principal.userId, principal.sessionId],
      );
      await this.mail.enqueue(m, { to: principal.email, template: 'password_changed', userId: principal.userId, content: (b) => accountMail.passwordChanged(b, 'changed') });
      await this.audit.record(m, { tenantId: null, actorUserId: principal.userId, actorKind: 'user', action: 'auth.password_change', targetType: 'user', targetId: principal.userId, ip });
    });
    this.mail.wake();
  }

  // ---- login

  async login(emailRaw: string, password: string, client: ClientInfo): Promise<LoginResultView> {
    const email = emailRaw.trim().toLowerCase();
    const rules = LOGIN_RULES(email, client.ip);
    const attempt = await this.throttle.attempt(rules);
    if (!attempt.allowed) {
      throw new AuthError('too_many_attempts', `Too many failed logins; try again in ${minutes(attempt.retryAfterMs)} minute(s), or reset the password from the login page.`, Math.ceil(attempt.retryAfterMs / 1000));
    }
    const user = await this.ds
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.email) = :email', { email })
      .getOne();
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!user || !ok) throw new AuthError('invalid_credentials', 'The email or password is wrong.');
    await this.throttle.forgive(attempt.ticket, [rules[0]!.key]);
    const [tf]: { on: boolean }[] = await this.ds.query('SELECT totp_enabled_at IS NOT NULL AS on FROM users WHERE id = $1', [user.id]);
    if (tf?.on) return this.openChallenge(user.id, client);
    return this.ds.transaction((m) => this.openSession(m, user.id, client, false));
  }

  private async openChallenge(userId: string, client: ClientInfo): Promise<TwoFactorChallengeView> {
    const token = newSecret('o2f');
    await this.ds.query(
      `INSERT INTO login_challenges (user_id, token_hash, ip, user_agent, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [userId, sha256Hex(token), client.ip, client.userAgent?.slice(0, 512) ?? null, CHALLENGE_TTL_SECONDS],
    );
    await this.ds.query(`DELETE FROM login_challenges WHERE user_id = $1 AND expires_at < now() - interval '1 day'`, [userId]);
    return { twoFactorRequired: true, challengeToken: token, expiresIn: CHALLENGE_TTL_SECONDS, methods: ['totp', 'recovery_code'] };
  }

  /** Second step: the challenge from the first step plus a code from the app or a recovery code. */
  async loginTwoFactor(challengeToken: string, code: string, client: ClientInfo): Promise<AuthTokensView> {
    const [ch]: { id: string; user_id: string; failures: number }[] = await this.ds.query(
      `SELECT id, user_id, failures FROM login_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()`,
      [sha256Hex(challengeToken)],
    );
    if (!ch || ch.failures >= CHALLENGE_MAX_FAILURES) {
      throw new AuthError('invalid_challenge', 'This sign-in step has expired or was used up; start again with your email and password.');
    }
    const attempt = await this.throttle.attempt(TWO_FACTOR_RULES(ch.user_id));
    if (!attempt.allowed) throw tooMany(attempt.retryAfterMs, 'wrong codes');
    const outcome = await this.ds.transaction(async (m) => {
      // The challenge row is locked so that two requests cannot both spend it.
      const [locked]: { used_at: Date | null }[] = await m.query('SELECT used_at FROM login_challenges WHERE id = $1 FOR UPDATE', [ch.id]);
      if (!locked || locked.used_at) return { error: new AuthError('invalid_challenge', 'This sign-in step was used already; start again with your email and password.') };
      const spent = await this.twoFactor.spend(m, ch.user_id, code);
      if (!spent) return { failed: true as const };
      await m.query('UPDATE login_challenges SET used_at = now() WHERE id = $1', [ch.id]);
      if (spent === 'recovery_code') {
        const [u]: { email: string }[] = await m.query('SELECT email FROM users WHERE id = $1', [ch.user_id]);
        await this.mail.enqueue(m, { to: u!.email, template: 'two_factor_recovery_used', userId: ch.user_id, content: (b) => accountMail.twoFactorChanged(b, 'recovery_code_used') });
        await this.audit.record(m, { tenantId: null, actorUserId: ch.user_id, actorKind: 'user', action: 'auth.recovery_code_used', targetType: 'user', targetId: ch.user_id, ip: client.ip });
      }
      return { tokens: await this.openSession(m, ch.user_id, client, true) };
    });
    if ('failed' in outcome) {
      await this.ds.query('UPDATE login_challenges SET failures = failures + 1 WHERE id = $1', [ch.id]);
      throw new AuthError('invalid_code', 'That code is wrong, expired or was used already. Enter the current code from your app, or a recovery code.');
    }
    if ('error' in outcome) throw outcome.error;
    await this.throttle.forgive(attempt.ticket);
    this.mail.wake();
    return outcome.tokens;
  }

  // ---- two-factor enrolment

  async startTwoFactorSetup(principal: Principal, password: string): Promise<TwoFactorSetupView> {
    await this.checkPassword(principal.userId, password);
    const [u]: { totp_enabled_at: Date | null }[] = await this.ds.query('SELECT totp_enabled_at FROM users WHERE id = $1', [principal.userId]);
    if (u?.totp_enabled_at) throw new AuthError('two_factor_already_enabled', 'Two-factor sign-in is on already; turn it off first to enrol another device.');
    const secret = newTotpSecret();
    await this.ds.query('UPDATE users SET totp_pending_secret = $2, totp_pending_at = now() WHERE id = $1', [principal.userId, this.twoFactor.sealSecret(secret)]);
    return { secret, otpauthUri: otpauthUri((await this.mail.brand()).name, principal.email, secret) };
  }

  async enableTwoFactor(principal: Principal, code: string, ip: string | null): Promise<string[]> {
    const codes = await this.ds.transaction(async (m) => {
      const [u]: { totp_pending_secret: string | null; totp_pending_at: Date | null; totp_enabled_at: Date | null }[] = await m.query(
        'SELECT totp_pending_secret, totp_pending_at, totp_enabled_at FROM users WHERE id = $1 FOR UPDATE',
        [principal.userId],
      );
      if (u?.totp_enabled_at) throw new AuthError('two_factor_already_enabled', 'Two-factor sign-in is on already.');
      if (!u?.totp_pending_secret || !u.totp_pending_at || u.totp_pending_at.getTime() < Date.now() - SETUP_TTL_SECONDS * 1000) {
        throw new AuthError('two_factor_setup_missing', 'Start the set-up first (POST /auth/2fa/setup); a set-up not confirmed within 15 minutes has to start again.');
      }
      const secret = this.twoFactor.openSecret(u.totp_pending_secret);
      const step = await totpStep(secret, code);
      if (step === null) return null;
      await m.query(
        'UPDATE users SET totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3, totp_pending_secret = NULL, totp_pending_at = NULL WHERE id = $1',
        [principal.userId, u.totp_pending_secret, step],
      );
      const recovery = await this.twoFactor.replaceRecoveryCodes(m, principal.userId);
      // This session has just proved the second factor.
      if (principal.sessionId) await m.query('UPDATE refresh_sessions SET two_factor = true WHERE id = $1', [principal.sessionId]);
      await this.mail.enqueue(m, { to: principal.email, template: 'two_factor_enabled', userId: principal.userId, content: (b) => accountMail.twoFactorChanged(b, 'enabled') });
      await this.audit.record(m, { tenantId: null, actorUserId: principal.userId, actorKind: 'user', action: 'auth.2fa_enable', targetType: 'user', targetId: principal.userId, ip });
      return recovery;
    });
    if (!codes) throw new AuthError('invalid_code', 'That code does not match; enter the 6-digit code your app shows now (check that the phone’s clock is right).');
    this.mail.wake();
    return codes;
  }

  /** Turning it off (or making new recovery codes) needs the password and a current code. */
  async disableTwoFactor(principal: Principal, password: string, code: string, ip: string | null): Promise<void> {
    await this.checkPassword(principal.userId, password);
    await this.withSecondFactor(principal, code, async (m) => {
      const [t]: { n: number }[] = await m.query(
        `SELECT count(*)::int AS n FROM memberships ms JOIN tenants t ON t.id = ms.tenant_id WHERE ms.user_id = $1 AND t.require_two_factor`,
        [principal.userId],
      );
      await m.query('UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1', [principal.userId]);
      await m.query('DELETE FROM recovery_codes WHERE user_id = $1', [principal.userId]);
      await this.mail.enqueue(m, { to: principal.email, template: 'two_factor_disabled', userId: principal.userId, content: (b) => accountMail.twoFactorChanged(b, 'disabled') });
      await this.audit.record(m, { tenantId: null, actorUserId: principal.userId, actorKind: 'user', action: 'auth.2fa_disable', targetType: 'user', targetId: principal.userId, ip, details: { teamsRequiringIt: t?.n ?? 0 } });
    });
  }

  async regenerateRecoveryCodes(principal: Principal, password: string, code: string, ip: string | null): Promise<string[]> {
    await this.checkPassword(principal.userId, password);
    return this.withSecondFactor(principal, code, async (m) => {
      const codes = await this.twoFactor.replaceRecoveryCodes(m, principal.userId);
      await this.mail.enqueue(m, { to: principal.email, template: 'two_factor_recovery_codes', userId: principal.userId, content: (b) => accountMail.twoFactorChanged(b, 'recovery_codes') });
      await this.audit.record(m, { tenantId: null, actorUserId: principal.userId, actorKind: 'user', action: 'auth.2fa_recovery_codes', targetType: 'user', targetId: principal.userId, ip });
      return codes;
    });
  }

  private async withSecondFactor<T>(principal: Principal, code: string, fn: (m: EntityManager) => Promise<T>): Promise<T> {
    const attempt = await this.throttle.attempt(TWO_FACTOR_RULES(principal.userId));
    if (!attempt.allowed) throw tooMany(attempt.retryAfterMs, 'wrong codes');
    const out = await this.ds.transaction(async (m) => {
      const [u]: { totp_enabled_at: Date | null }[] = await m.query('SELECT totp_enabled_at FROM users WHERE id = $1 FOR UPDATE', [principal.userId]);
      if (!u?.totp_enabled_at) throw new AuthError('two_factor_not_enabled', 'Two-factor sign-in is not on for this account.');
      if (!(await this.twoFactor.spend(m, principal.userId, code))) return { failed: true as const };
      return { value: await fn(m) };
    });
    if ('failed' in out) throw new AuthError('invalid_code', 'That code is wrong, expired or was used already; enter the current code from your app or a recovery code.');
    await this.throttle.forgive(attempt.ticket);
    this.mail.wake();
    return out.value;
  }

  private async checkPassword(userId: string, password: string): Promise<void> {
    const attempt = await this.throttle.attempt([{ key: `password-check:${userId}`, max: 10, windowMs: 15 * 60_000 }]);
    if (!attempt.allowed) throw tooMany(attempt.retryAfterMs, 'wrong passwords');
    const user = await this.ds.getRepository(UserEntity).createQueryBuilder('u').addSelect('u.passwordHash').where('u.id = :id', { id: userId }).getOne();
    if (!user || !(await verifyPassword(user.passwordHash, password))) throw new AuthError('wrong_password', 'The password is wrong.');
    await this.throttle.forgive(attempt.ticket);
  }

  // ---- sessions

  /** Rotate: the presented refresh token is spent and a new one issued. A spent token presented again ends the whole session. */
  async refresh(refreshToken: string, client: ClientInfo = { ip: null, userAgent: null }): Promise<AuthTokensView> {
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
        await this.audit.record(m, { tenantId: null, actorUserId: row.user_id, actorKind: 'user', action: 'auth.refresh_token_reused', targetType: 'session', targetId: row.session_id, ip: client.ip });
        return { error: new AuthError('refresh_token_reused', 'This refresh token was already used once; for safety the whole login has been ended. Log in again.') };
      }
      if (row.expires_at.getTime() <= Date.now()) return { error: new AuthError('session_ended', 'This login has expired; log in again.') };
      await m.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [row.id]);
      await m.query('UPDATE refresh_sessions SET last_used_at = now(), ip = coalesce($2, ip), user_agent = coalesce($3, user_agent) WHERE id = $1', [row.session_id, client.ip, client.userAgent?.slice(0, 512) ?? null]);
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

  async sessions(principal: Principal): Promise<SessionView[]> {
    const rows: { id: string; ip: string | null; user_agent: string | null; created_at: Date; last_used_at: Date | null; two_factor: boolean }[] = await this.ds.query(
      `SELECT id, ip, user_agent, created_at, last_used_at, two_factor FROM refresh_sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY coalesce(last_used_at, created_at) DESC LIMIT 100`,
      [principal.userId],
    );
    return rows.map((r) => ({
      id: r.id, current: r.id === principal.sessionId, ip: r.ip, userAgent: r.user_agent, device: describeUserAgent(r.user_agent),
      createdAt: r.created_at.toISOString(), lastUsedAt: (r.last_used_at ?? r.created_at).toISOString(), twoFactor: r.two_factor,
    }));
  }

  /** End one of the caller's own sessions (another user's answers 404). */
  async endSession(principal: Principal, sessionId: string, ip: string | null): Promise<void> {
    await this.ds.transaction(async (m) => {
      const res: [unknown[], number] = await m.query(
        `UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = 'ended_by_user' WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`,
        [sessionId, principal.userId],
      );
      if (!res[1]) throw new AuthError('session_not_found', 'No active session with that id on your account.');
      await this.audit.record(m, { tenantId: null, actorUserId: principal.userId, actorKind: 'user', action: 'auth.session_end', targetType: 'session', targetId: sessionId, ip });
    });
  }

  async me(userId: string): Promise<MeView> {
    return this.meWith(this.ds.manager, userId);
  }

  /** Called by the JWT strategy for every request: the user must exist and the session must be live. */
  /**
   * The principal of an access token whose session is still open, and, in the same statement, the membership the tenant
   * guard will check (`tenant`: the tenant asked for, null = the user's first; undefined = do not look it up).
   */
  async principalForAccessToken(claims: AccessClaims, tenant?: string | null): Promise<{ principal: Principal; membership?: MembershipLookup } | null> {
    if (claims.typ !== 'access' || !claims.sub || !claims.sid) return null;
    const withMembership = tenant !== undefined;
    const rows: ({ id: string; email: string; staff_role: StaffRole | null; two_factor: boolean; verified: boolean } & Partial<Record<'m_tenant_id' | 'm_role' | 'm_require_two_factor', unknown>>)[] =
      await this.ds.query(
        `SELECT u.id, u.email, u.staff_role, u.totp_enabled_at IS NOT NULL AS two_factor, u.email_verified_at IS NOT NULL AS verified
                ${withMembership ? ', m.tenant_id AS m_tenant_id, m.role AS m_role, m.require_two_factor AS m_require_two_factor' : ''}
           FROM users u
           JOIN refresh_sessions s ON s.user_id = u.id AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
           ${withMembership ? `LEFT JOIN LATERAL (${membershipSql('u.id', '$3::uuid')}) m ON true` : ''}
          WHERE u.id = $1`,
        withMembership ? [claims.sub, claims.sid, tenant] : [claims.sub, claims.sid],
      );
    const u = rows[0];
    if (!u) return null;
    const principal: Principal = {
      kind: 'user', userId: u.id, email: u.email, staffRole: u.staff_role, sessionId: claims.sid, apiTokenId: null, apiTokenTenantId: null,
      twoFactorEnabled: u.two_factor, emailVerified: u.verified,
    };
    if (!withMembership) return { principal };
    const row = u.m_tenant_id ? { tenant_id: u.m_tenant_id as string, role: u.m_role as TenantRole, require_two_factor: u.m_require_two_factor as boolean } : null;
    return { principal, membership: { asked: tenant, row } };
  }

  private async openSession(m: EntityManager, userId: string, client: ClientInfo, twoFactor: boolean): Promise<AuthTokensView> {
    const session = await m.save(
      m.create(RefreshSessionEntity, {
        userId, expiresAt: new Date(Date.now() + this.config.refreshTokenTtlSeconds * 1000), revokedAt: null, revokedReason: null,
        ip: client.ip, userAgent: client.userAgent?.slice(0, 512) ?? null, lastUsedAt: new Date(), twoFactor,
      }),
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
    const [user]: { id: string; email: string; staff_role: StaffRole | null; email_verified_at: Date | null; totp_enabled_at: Date | null }[] = await m.query(
      'SELECT id, email, staff_role, email_verified_at, totp_enabled_at FROM users WHERE id = $1',
      [userId],
    );
    if (!user) throw new AuthError('session_ended', 'This account no longer exists.');
    const memberships: { tenant_id: string; name: string; role: MeView['memberships'][number]['role']; require_two_factor: boolean; suspended_at: Date | null; suspended_reason: string | null }[] = await m.query(
      `SELECT ms.tenant_id, t.name, ms.role, t.require_two_factor, t.suspended_at, t.suspended_reason FROM memberships ms JOIN tenants t ON t.id = ms.tenant_id WHERE ms.user_id = $1 ORDER BY ms.created_at, ms.id`,
      [userId],
    );
    const staffNeeds = user.staff_role && !user.totp_enabled_at ? await staffRequireTwoFactor(m) : false;
    return {
      id: user.id,
      email: user.email,
      staffRole: user.staff_role,
      memberships: memberships.map((r) => ({
        tenantId: r.tenant_id, tenantName: r.name, role: r.role, requireTwoFactor: r.require_two_factor,
        suspendedAt: r.suspended_at?.toISOString() ?? null, suspendedReason: r.suspended_reason,
      })),
      emailVerified: user.email_verified_at !== null,
      twoFactorEnabled: user.totp_enabled_at !== null,
      twoFactorRequiredForStaff: staffNeeds,
    };
  }
}


function invalidLink(kind: 'verification' | 'reset'): AuthError {
  return new AuthError('invalid_token', kind === 'verification'
    ? 'This verification link is not valid: it was used, replaced by a newer one, or has expired. Ask for a new one from the panel.'
    : 'This reset link is not valid: it was used, replaced by a newer one, or has expired (links last one hour). Ask for a new one.');
}
