import { DomainError } from '../common/domain-error.js';

export const BackupErrorCode = {
  NotFound: 'backup_not_found',
  NotReady: 'backup_not_ready',
  NoStore: 'no_backup_store',
  StoreDisabled: 'backup_store_disabled',
} as const;
export type BackupErrorCode = (typeof BackupErrorCode)[keyof typeof BackupErrorCode];

const STATUS: Record<BackupErrorCode, number> = { backup_not_found: 404, backup_not_ready: 409, no_backup_store: 409, backup_store_disabled: 409 };

export class BackupError extends DomainError {
  readonly httpStatus: number;
  constructor(code: BackupErrorCode, message: string) {
    super(code, message);
    this.httpStatus = STATUS[code];
  }
}
