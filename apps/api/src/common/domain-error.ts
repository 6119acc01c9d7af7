/**
 * Base of every module's exception. Domain code throws these (never HTTP exceptions); the one
 * exception filter turns them into the contracts `ApiError` body with the status each module's
 * code table gives.
 */
export abstract class DomainError extends Error {
  abstract readonly httpStatus: number;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: { field: string; problems: string[] }[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type ErrorDetails = { field: string; problems: string[] }[];

/**
 * The exception class of one module: its codes and the HTTP status of each in one table. A module declares
 * `export class FleetError extends domainErrorClass<FleetErrorCode>(STATUS) {}`; the class keeps its own name
 * (instanceof, logs) and the filter answers each code with the table's status.
 */
export function domainErrorClass<C extends string>(status: Readonly<Record<C, number>>) {
  return class extends DomainError {
    readonly httpStatus: number;
    constructor(code: C, message: string, details?: ErrorDetails) {
      super(code, message, details);
      this.httpStatus = status[code];
    }
  };
}

export const CommonErrorCode = {
  ValidationFailed: 'validation_failed',
  MalformedJson: 'malformed_json',
  PayloadTooLarge: 'payload_too_large',
  NotFound: 'not_found',
  Unauthenticated: 'unauthenticated',
  Forbidden: 'forbidden',
  NoTenant: 'no_tenant',
  TwoFactorRequired: 'two_factor_required',
  EmailNotVerified: 'email_not_verified',
} as const;
export type CommonErrorCode = (typeof CommonErrorCode)[keyof typeof CommonErrorCode];

const COMMON_STATUS: Record<CommonErrorCode, number> = {
  validation_failed: 400,
  malformed_json: 400,
  payload_too_large: 413,
  not_found: 404,
  unauthenticated: 401,
  forbidden: 403,
  no_tenant: 403,
  two_factor_required: 403,
  email_not_verified: 403,
};

export class CommonError extends domainErrorClass<CommonErrorCode>(COMMON_STATUS) {}
