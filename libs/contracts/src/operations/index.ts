import type { TaskOp } from '../enums.js';
import { createOperation } from './create.js';
import { deleteOperation } from './delete.js';
import type { OperationContract } from './operation.js';
import { pauseOperation } from './pause.js';
import { rebootOperation } from './reboot.js';
import { rebuildOperation } from './rebuild.js';
import { resizeOperation } from './resize.js';
import { resumeOperation } from './resume.js';
import { startOperation } from './start.js';
import { stopOperation } from './stop.js';
import { suspendOperation } from './suspend.js';
import { unsuspendOperation } from './unsuspend.js';
import { bootIsoOperation } from './boot-iso.js';
import { detachIsoOperation } from './detach-iso.js';
import { resetPasswordOperation } from './reset-password.js';
import { snapshotCreateOperation } from './snapshot-create.js';
import { snapshotRevertOperation } from './snapshot-revert.js';
import { snapshotDeleteOperation } from './snapshot-delete.js';
import { throttleOperation } from './throttle.js';
import { backupCreateOperation } from './backup-create.js';
import { backupRestoreOperation } from './backup-restore.js';
import { backupDeleteOperation } from './backup-delete.js';

import { rescueOperation } from './rescue.js';
import { unrescueOperation } from './unrescue.js';

export * from './operation.js';
export * from './rescue.js';
export * from './unrescue.js';
export * from './create.js';
export * from './start.js';
export * from './stop.js';
export * from './reboot.js';
export * from './rebuild.js';
export * from './resize.js';
export * from './suspend.js';
export * from './unsuspend.js';
export * from './pause.js';
export * from './resume.js';
export * from './delete.js';
export * from './boot-iso.js';
export * from './detach-iso.js';
export * from './reset-password.js';
export * from './snapshot-create.js';
export * from './snapshot-revert.js';
export * from './snapshot-delete.js';
export * from './throttle.js';
export * from './backup-create.js';
export * from './backup-restore.js';
export * from './backup-delete.js';

/**
 * Every operation of the contract, by op. Adding an operation: a file in this folder (command schema +
 * state rule), its op in `TaskOp` (enums.ts), and one line here; the compiler then asks for it everywhere
 * else (the command union, the API's operation registry, the daemon's handler registry).
 */
export const OPERATIONS = {
  create: createOperation,
  start: startOperation,
  stop: stopOperation,
  reboot: rebootOperation,
  rebuild: rebuildOperation,
  resize: resizeOperation,
  suspend: suspendOperation,
  unsuspend: unsuspendOperation,
  pause: pauseOperation,
  resume: resumeOperation,
  delete: deleteOperation,
  boot_iso: bootIsoOperation,
  detach_iso: detachIsoOperation,
  reset_password: resetPasswordOperation,
  snapshot_create: snapshotCreateOperation,
  snapshot_revert: snapshotRevertOperation,
  snapshot_delete: snapshotDeleteOperation,
  rescue: rescueOperation,
  unrescue: unrescueOperation,
  throttle: throttleOperation,
  backup_create: backupCreateOperation,
  backup_restore: backupRestoreOperation,
  backup_delete: backupDeleteOperation,
} as const satisfies { readonly [Op in TaskOp]: OperationContract<Op> };

export function operationOf(op: TaskOp): OperationContract {
  return OPERATIONS[op];
}
