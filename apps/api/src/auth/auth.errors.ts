import { DomainError } from '../common/domain-error.js';

export const AuthErrorCode = {
  InvalidCredentials: 'invalid_credentials',
  EmailTaken: 'email_taken',
  InvalidRefreshToken: 'invalid_refresh_token',
  RefreshTokenReused: 'refresh_token_reused',
  SessionEnded: 'session_ended',
  TooManyAttempts: 'too_many_attempts',
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

const STATUS: Record<AuthErrorCode, number> = {
  invalid_credentials: 401,
  email_taken: 409,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  session_ended: 401,
  too_many_attempts: 429,
};

export class AuthError extends DomainError {
  readonly httpStatus: number;
  constructor(code: AuthErrorCode, message: string) {
    super(code, message);
    this.httpStatus = STATUS[code];
  }
}
