import type { BackupTrigger } from '@oblako/contracts';
import { BackupEntity } from '../backups/backup.entity.js';
import { lastTask, storeForNewBackup, storeRef } from '../backups/backup-refs.js';
import { chainLimit, nextInChain } from '../backups/backup-chain.js';
import { followPlan, type ApiOperation, type Next, type Plan } from './operation.js';
import { onItsNode } from './node-step.js';

export interface BackupCreateInput {
  /** The new backup's id (the service picks it, so it can answer with the row). */
  id: string;
  trigger: BackupTrigger;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A backup of the server to its location's enabled store (409 `no_backup_store` without one), on the server's node:
 * incremental against the newest ready backup while the chain is sound (`nextInChain`), else full. The row is
 * `pending` until the node answers; then `ready` with the size, checksum and duration the node measured and the kind
 * it really made (an incremental's parent, or why it is full), or `failed` with the task's reason (the node leaves
 * nothing half-written on the store).
 */
export const backupCreateOperation: ApiOperation<BackupCreateInput> = {
  op: 'backup_create',
  async plan(ctx): Promise<Plan> {
    const { m, server, input } = ctx;
    const store = await storeForNewBackup(m, server.locationId);
    const chain = await nextInChain(m, server, await chainLimit(m));
    const steps = await onItsNode<BackupCreateInput>('backup_create', () => ({
      store: storeRef(store), backup: { id: input.id, serverId: server.id }, ...(chain.parentId ? { incrementalOf: chain.parentId } : {}),
    }))(ctx);
    await m.insert(BackupEntity, {
      id: input.id, tenantId: server.tenantId, serverId: server.id, serverName: server.hostname, storeId: store.id, nodeId: server.nodeId, taskId: null,
      state: 'pending', kind: 'full', parentId: chain.parentId, fullReason: chain.reason, trigger: input.trigger, sizeBytes: 0, virtualSizeBytes: server.diskGiB * 1024 ** 3, bytesMoved: 0, sha256: null, durationMs: null, error: null, finishedAt: null,
    });
    return { ...steps, audit: { backupId: input.id, storeId: store.id, trigger: input.trigger, incrementalOf: chain.parentId } };
  },
  async onResult(ctx): Promise<Next> {
    const { m, server, result, task } = ctx;
    const out = result.output ?? {};
    const sha = typeof out['sha256'] === 'string' && /^[a-f0-9]{64}$/.test(out['sha256']) ? out['sha256'] : null;
    if (result.ok && sha) {
      const [row] = await m.find(BackupEntity, { where: { serverId: server.id, state: 'pending' }, take: 1 });
      const asked = row?.parentId ?? null;
      const parent = out['kind'] === 'incremental' && typeof out['parentBackupId'] === 'string' ? out['parentBackupId'] : null;
      // an incremental is recorded only against the parent asked for (a node cannot choose another chain)
      if (parent && parent !== asked) return { kind: 'end', ok: false, error: `invalid_result: the node made an incremental against ${parent}, ${String(asked ?? 'a full backup')} was asked for` };
      const fullReason = parent ? null
        : typeof out['fullBecause'] === 'string' ? out['fullBecause'].slice(0, 500)
        : asked ? 'the node made a full backup where an incremental was asked for' : row?.fullReason ?? null;
      await m.update(BackupEntity, { serverId: server.id, state: 'pending' }, {
        state: 'ready', kind: parent ? 'incremental' : 'full', parentId: parent, fullReason, taskId: task.id, sha256: sha, sizeBytes: num(out['bytes']) ?? 0, ...(num(out['virtualBytes']) ? { virtualSizeBytes: num(out['virtualBytes'])! } : {}), bytesMoved: num(out['bytesMoved']) ?? num(out['bytes']) ?? 0,
        durationMs: num(out['durationMs']), finishedAt: new Date(),
      });
      return followPlan(ctx);
    }
    if (result.ok) return { kind: 'end', ok: false, error: 'invalid_result: the node reported a backup without its checksum' };
    return followPlan(ctx);
  },
  async onEnd({ m, server, ok }): Promise<void> {
    if (ok) return;
    const rows = await m.find(BackupEntity, { where: { serverId: server.id, state: 'pending' } });
    const task = await lastTask(m, server.id, 'backup_create');
    for (const b of rows) {
      await m.update(BackupEntity, { id: b.id }, {
        state: 'failed', parentId: null, taskId: task?.id ?? b.taskId, error: task?.error ?? 'the backup failed', finishedAt: new Date(), durationMs: Date.now() - b.createdAt.getTime(),
      });
    }
  },
};
