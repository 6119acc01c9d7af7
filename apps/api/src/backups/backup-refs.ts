import type { BackupStoreRef, CreateRestore } from '@oblako/contracts';
import type { EntityManager } from 'typeorm';
import { BackupStoreEntity } from '../backup-stores/backup-store.entity.js';
import type { ServerEntity } from '../servers/server.entities.js';
import { BackupEntity } from './backup.entity.js';
import { BackupError } from './backups.errors.js';
import { chainOf } from './backup-chain.js';

/** What a node needs to reach a store: never a secret (the node logs in with its own key). */
export function storeRef(s: BackupStoreEntity): BackupStoreRef {
  return { id: s.id, host: s.host, port: s.port, username: s.username, basePath: s.basePath, hostKey: s.hostKey };
}

/** The enabled store of a location that takes new backups (the oldest, when staff configured several). */
export async function storeForNewBackup(m: EntityManager, locationId: string): Promise<BackupStoreEntity> {
  const store = await m.findOne(BackupStoreEntity, { where: { locationId, enabled: true }, order: { createdAt: 'ASC', id: 'ASC' } });
  if (!store) throw new BackupError('no_backup_store', 'The server\'s location has no enabled backup store; backups cannot be taken there until staff configure one.');
  return store;
}

/** The store a backup lives on (disabled stores still serve restores and deletes). */
export async function storeOf(m: EntityManager, backup: BackupEntity): Promise<BackupStoreEntity> {
  const store = await m.findOneBy(BackupStoreEntity, { id: backup.storeId });
  if (!store) throw new BackupError('backup_not_found', 'The backup\'s store no longer exists.');
  return store;
}

/** A backup of this server, for an operation's plan (the service has checked the tenant already). */
export async function backupOfServer(m: EntityManager, serverId: string, backupId: string): Promise<BackupEntity> {
  const b = await m.findOne(BackupEntity, { where: { id: backupId, serverId }, lock: { mode: 'pessimistic_write' } });
  if (!b) throw new BackupError('backup_not_found', 'No backup with that id of this server.');
  return b;
}

/** The newest `op` task of the server and its error (the runner writes the error before it calls `onEnd`). */
export async function lastTask(m: EntityManager, serverId: string, op: string): Promise<{ id: string; error: string | null } | null> {
  const [row]: { id: string; error: string | null }[] = await m.query(
    'SELECT id, error FROM tasks WHERE server_id = $1 AND op = $2 ORDER BY created_at DESC, id DESC LIMIT 1', [serverId, op],
  );
  return row ?? null;
}

/**
 * What a create of a server made from a backup carries (restore into a new server): the store and the backup with its
 * recorded checksum. Nothing for an ordinary server. The backup must still be ready (a create placed again, or paid
 * late, finds it so: a backup being restored from is not deleted).
 */
export async function restoreSourceOf(m: EntityManager, server: Pick<ServerEntity, 'restoredFromBackupId' | 'tenantId'>): Promise<CreateRestore | undefined> {
  if (!server.restoredFromBackupId) return undefined;
  const b = await m.findOneBy(BackupEntity, { id: server.restoredFromBackupId, tenantId: server.tenantId });
  if (!b || b.state !== 'ready' || !b.sha256) throw new BackupError('backup_not_ready', 'The backup this server is restored from is no longer ready (deleted or failed); it cannot be built from it.');
  const store = await storeOf(m, b);
  const parents = await chainOf(m, b.id);
  return { store: storeRef(store), backup: { id: b.id, serverId: b.serverId, sha256: b.sha256, ...(parents.length ? { parents } : {}) } };
}
