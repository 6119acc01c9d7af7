import { domainErrorClass } from '../common/domain-error.js';

export const SshKeyErrorCode = {
  NotFound: 'ssh_key_not_found',
  Invalid: 'ssh_key_invalid',
  Duplicate: 'ssh_key_duplicate',
} as const;
export type SshKeyErrorCode = (typeof SshKeyErrorCode)[keyof typeof SshKeyErrorCode];

const STATUS: Record<SshKeyErrorCode, number> = { ssh_key_not_found: 404, ssh_key_invalid: 400, ssh_key_duplicate: 409 };

export class SshKeyError extends domainErrorClass<SshKeyErrorCode>(STATUS) {}
