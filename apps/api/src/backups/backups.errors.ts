import { domainErrorClass } from '../common/domain-error.js';

export const BackupErrorCode = {
  NotFound: 'backup_not_found',
  NotReady: 'backup_not_ready',
  NoStore: 'no_backup_store',
  StoreDisabled: 'backup_store_disabled',
  /** A deleted server's backup past the staff's grace days (the scheduler deletes it). */
  Expired: 'backup_expired',
  /** The plan of a restore into a new server has a smaller disk than the backup. */
  PlanDiskTooSmall: 'plan_disk_too_small',
  /** A restore into a new server in another location than the backup's store. */
  OtherLocation: 'backup_other_location',
  /** A server being created from this backup still needs it. */
  InUse: 'backup_in_use',
  /** Later incremental backups build on this one: it goes after them. */
  HasChildren: 'backup_has_children',
  /** A backup an incremental builds on is missing or not ready: the incremental cannot be restored. */
  ChainBroken: 'backup_chain_broken',
  /** No online node in the store's location to delete a deleted server's backup through. */
  NoNode: 'no_node_for_store',
} as const;
export type BackupErrorCode = (typeof BackupErrorCode)[keyof typeof BackupErrorCode];

const STATUS: Record<BackupErrorCode, number> = {
  backup_not_found: 404, backup_not_ready: 409, no_backup_store: 409, backup_store_disabled: 409, backup_expired: 409, plan_disk_too_small: 409, backup_other_location: 409, backup_in_use: 409, backup_has_children: 409, backup_chain_broken: 409, no_node_for_store: 409,
};

export class BackupError extends domainErrorClass<BackupErrorCode>(STATUS) {}
