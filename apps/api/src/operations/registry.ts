import type { TaskOp } from '@oblako/contracts';
import { createOperation } from './create.operation.js';
import { deleteOperation } from './delete.operation.js';
import type { ApiOperation } from './operation.js';
import { pauseOperation } from './pause.operation.js';
import { rebootOperation } from './reboot.operation.js';
import { rebuildOperation } from './rebuild.operation.js';
import { resizeOperation } from './resize.operation.js';
import { resumeOperation } from './resume.operation.js';
import { startOperation } from './start.operation.js';
import { stopOperation } from './stop.operation.js';
import { suspendOperation } from './suspend.operation.js';
import { unsuspendOperation } from './unsuspend.operation.js';
import { bootIsoOperation } from './boot-iso.operation.js';
import { detachIsoOperation } from './detach-iso.operation.js';
import { rescueOperation } from './rescue.operation.js';
import { unrescueOperation } from './unrescue.operation.js';
import { resetPasswordOperation } from './reset-password.operation.js';
import { snapshotCreateOperation } from './snapshot-create.operation.js';
import { snapshotRevertOperation } from './snapshot-revert.operation.js';
import { snapshotDeleteOperation } from './snapshot-delete.operation.js';
import { throttleOperation } from './throttle.operation.js';
import { backupCreateOperation } from './backup-create.operation.js';
import { backupRestoreOperation } from './backup-restore.operation.js';
import { backupDeleteOperation } from './backup-delete.operation.js';

/** The API side of every operation of the contract, by op (a missing one does not compile). */
export const API_OPERATIONS: Readonly<Record<TaskOp, ApiOperation>> = {
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
  boot_iso: bootIsoOperation as ApiOperation,
  detach_iso: detachIsoOperation,
  rescue: rescueOperation,
  unrescue: unrescueOperation,
  reset_password: resetPasswordOperation as ApiOperation,
  snapshot_create: snapshotCreateOperation as ApiOperation,
  snapshot_revert: snapshotRevertOperation as ApiOperation,
  snapshot_delete: snapshotDeleteOperation as ApiOperation,
  throttle: throttleOperation,
  backup_create: backupCreateOperation as ApiOperation,
  backup_restore: backupRestoreOperation as ApiOperation,
  backup_delete: backupDeleteOperation as ApiOperation,
};
