import type { EntityManager } from 'typeorm';
import { BackupEntity } from '../backups/backup.entity.js';
import { backupOfServer, storeOf, storeRef } from '../backups/backup-refs.js';
import { BackupError } from '../backups/backups.errors.js';
import { refuseParentOfLive } from '../backups/backup-chain.js';
import { followPlan, type ApiOperation, type Next, type Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface BackupDeleteInput {
  backupId: string;
}

/**
 * Delete a ready or failed backup from its store, through the server's node; the row goes once the node confirms
 * (a failure puts it back as it was).
 */
export const backupDeleteOperation: ApiOperation<BackupDeleteInput> = {
  op: 'backup_delete',
  async plan(ctx): Promise<Plan> {
    const { m, server, input } = ctx;
    const backup = await backupOfServer(m, server.id, input.backupId);
    if (backup.state !== 'ready' && backup.state !== 'failed') throw new BackupError('backup_not_ready', `The backup is ${backup.state}; wait until it has finished.`);
    await refuseInUse(m, backup.id);
    await refuseParentOfLive(m, backup.id);
    const store = await storeOf(m, backup);
    const steps = await onItsNode<BackupDeleteInput>('backup_delete', () => ({ store: storeRef(store), backup: { id: backup.id, serverId: backup.serverId } }))(ctx);
    await m.update(BackupEntity, { id: backup.id }, { state: 'deleting' });
    return { ...steps, audit: { backupId: backup.id, storeId: store.id } };
  },
  async onResult(ctx): Promise<Next> {
    if (ctx.result.ok) await ctx.m.delete(BackupEntity, { serverId: ctx.server.id, state: 'deleting' });
    return followPlan(ctx);
  },
  async onEnd({ m, server, ok }): Promise<void> {
    if (ok) return;
    const rows = await m.find(BackupEntity, { where: { serverId: server.id, state: 'deleting' } });
    for (const b of rows) await m.update(BackupEntity, { id: b.id }, { state: b.sha256 ? 'ready' : 'failed' });
  },
};

/** A backup that a server being created is restored from stays until that create has ended (409 `backup_in_use`). */
export async function refuseInUse(m: EntityManager, backupId: string): Promise<void> {
  const [user]: { hostname: string }[] = await m.query(
    `SELECT hostname FROM servers WHERE restored_from_backup_id = $1 AND state IN ('pending_payment', 'provisioning') LIMIT 1`, [backupId],
  );
  if (user) throw new BackupError('backup_in_use', `The server "${user.hostname}" is being created from this backup; it can be deleted once that server is built.`);
}
