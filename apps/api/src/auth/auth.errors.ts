import { domainErrorClass } from '../common/domain-error.js';

export const AuthErrorCode = {
  InvalidCredentials: 'invalid_credentials',
  EmailTaken: 'email_taken',
  InvalidRefreshToken: 'invalid_refresh_token',
  RefreshTokenReused: 'refresh_token_reused',
  SessionEnded: 'session_ended',
  TooManyAttempts: 'too_many_attempts',
  WrongPassword: 'wrong_password',
  InvalidCode: 'invalid_code',
  InvalidChallenge: 'invalid_challenge',
  TwoFactorNotEnabled: 'two_factor_not_enabled',
  TwoFactorAlreadyEnabled: 'two_factor_already_enabled',
  TwoFactorSetupMissing: 'two_factor_setup_missing',
  TwoFactorRequired: 'two_factor_required',
  InvalidToken: 'invalid_token',
  EmailNotVerified: 'email_not_verified',
  AlreadyVerified: 'already_verified',
  SessionNotFound: 'session_not_found',
  InviteNotForYou: 'invite_not_for_you',
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

const STATUS: Record<AuthErrorCode, number> = {
  invalid_credentials: 401,
  email_taken: 409,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  session_ended: 401,
  too_many_attempts: 429,
  // Not 401 on purpose: the panel answers a 401 by refreshing its token, which would not help.
  wrong_password: 403,
  invalid_code: 403,
  invalid_challenge: 401,
  two_factor_not_enabled: 409,
  two_factor_already_enabled: 409,
  two_factor_setup_missing: 409,
  two_factor_required: 403,
  invalid_token: 400,
  email_not_verified: 403,
  already_verified: 409,
  session_not_found: 404,
  invite_not_for_you: 403,
};

export class AuthError extends domainErrorClass<AuthErrorCode>(STATUS) {
  constructor(code: AuthErrorCode, message: string, readonly retryAfterSeconds?: number) {
    super(code, message);
  }
}
