import type { TaskOp } from '@oblako/contracts';
import { createHandler } from './create.js';
import { deleteHandler } from './delete.js';
import type { CommandHandler } from './handler.js';
import { pauseHandler } from './pause.js';
import { rebootHandler } from './reboot.js';
import { rebuildHandler } from './rebuild.js';
import { resizeHandler } from './resize.js';
import { resumeHandler } from './resume.js';
import { startHandler } from './start.js';
import { stopHandler } from './stop.js';
import { suspendHandler } from './suspend.js';
import { unsuspendHandler } from './unsuspend.js';
import { bootIsoHandler } from './boot-iso.js';
import { detachIsoHandler } from './detach-iso.js';
import { resetPasswordHandler } from './reset-password.js';
import { snapshotCreateHandler } from './snapshot-create.js';
import { snapshotRevertHandler } from './snapshot-revert.js';
import { snapshotDeleteHandler } from './snapshot-delete.js';
import { rescueHandler } from './rescue.js';
import { unrescueHandler } from './unrescue.js';
import { throttleHandler } from './throttle.js';
import { backupCreateHandler } from './backup-create.js';
import { backupRestoreHandler } from './backup-restore.js';
import { backupDeleteHandler } from './backup-delete.js';

export * from './handler.js';

/** The node side of every operation of the contract, by op (a missing one does not compile). */
export const COMMAND_HANDLERS: { readonly [Op in TaskOp]: CommandHandler<Op> } = {
  create: createHandler,
  start: startHandler,
  stop: stopHandler,
  reboot: rebootHandler,
  rebuild: rebuildHandler,
  resize: resizeHandler,
  suspend: suspendHandler,
  unsuspend: unsuspendHandler,
  pause: pauseHandler,
  resume: resumeHandler,
  delete: deleteHandler,
  boot_iso: bootIsoHandler,
  detach_iso: detachIsoHandler,
  reset_password: resetPasswordHandler,
  snapshot_create: snapshotCreateHandler,
  snapshot_revert: snapshotRevertHandler,
  snapshot_delete: snapshotDeleteHandler,
  rescue: rescueHandler,
  unrescue: unrescueHandler,
  throttle: throttleHandler,
  backup_create: backupCreateHandler,
  backup_restore: backupRestoreHandler,
  backup_delete: backupDeleteHandler,
};
