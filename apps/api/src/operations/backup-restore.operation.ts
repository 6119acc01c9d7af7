import type { ServerState } from '@oblako/contracts';
import { backupOfServer, storeOf, storeRef } from '../backups/backup-refs.js';
import { chainOf } from '../backups/backup-chain.js';
import { BackupError } from '../backups/backups.errors.js';
import { followPlan, type ApiOperation, type Next, type Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface BackupRestoreInput {
  backupId: string;
}

const AFTER_RESTORE: Partial<Record<string, ServerState>> = { running: 'running', shutoff: 'stopped' };

/**
 * Restore a ready backup of this server in place, on its node: the node fetches the file (an incremental's whole chain,
 * flattened into one disk), checks each SHA-256, then
 * stops the server, replaces its disk (addresses, identity and seed kept) and starts it again when it was running.
 * A disabled store still serves restores. The server ends as the node reports its domain.
 */
export const backupRestoreOperation: ApiOperation<BackupRestoreInput> = {
  op: 'backup_restore',
  async plan(ctx): Promise<Plan> {
    const { m, server, input } = ctx;
    const backup = await backupOfServer(m, server.id, input.backupId);
    if (backup.state !== 'ready' || !backup.sha256) throw new BackupError('backup_not_ready', `The backup is ${backup.state}; only a ready backup can be restored.`);
    const store = await storeOf(m, backup);
    // an incremental comes with its chain (the full one first), each checked against its recorded SHA-256 on the node
    const parents = await chainOf(m, backup.id);
    const steps = await onItsNode<BackupRestoreInput>('backup_restore', () => ({
      store: storeRef(store), backup: { id: backup.id, serverId: backup.serverId, sha256: backup.sha256!, ...(parents.length ? { parents } : {}) }, startAfter: server.state === 'running',
    }))(ctx);
    return { ...steps, audit: { backupId: backup.id, storeId: store.id } };
  },
  async onResult(ctx): Promise<Next> {
    const next = followPlan(ctx);
    if (next.kind === 'end') {
      const state = AFTER_RESTORE[ctx.result.domainState];
      if (state) return { ...next, state };
    }
    return next;
  },
};
