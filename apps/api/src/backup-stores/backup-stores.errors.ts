import { domainErrorClass } from '../common/domain-error.js';

export const BackupStoreErrorCode = { NotFound: 'backup_store_not_found', LocationNotFound: 'location_not_found', Invalid: 'validation_failed', Duplicate: 'duplicate', InUse: 'backup_store_in_use' } as const;
export type BackupStoreErrorCode = (typeof BackupStoreErrorCode)[keyof typeof BackupStoreErrorCode];

const STATUS: Record<BackupStoreErrorCode, number> = { backup_store_not_found: 404, location_not_found: 404, validation_failed: 400, duplicate: 409, backup_store_in_use: 409 };

export class BackupStoreError extends domainErrorClass<BackupStoreErrorCode>(STATUS) {}
