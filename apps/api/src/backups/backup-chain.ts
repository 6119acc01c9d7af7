import { BACKUP_CHAIN_LINKS_MAX, BACKUP_INCREMENTAL_CHAIN_DEFAULT, BACKUP_INCREMENTAL_CHAIN_MAX, type BackupChainLink } from '@oblako/contracts';
import { BACKUP_SETTINGS_KEY } from '../backup-policy/backup-schedules.service.js';
import type { EntityManager } from 'typeorm';
import type { ServerEntity } from '../servers/server.entities.js';
import { BackupError } from './backups.errors.js';

/**
 * Operations after which a server's disk is no longer what its last backup's checkpoint describes: the disk was
 * replaced (restore in place, rebuild), reverted (snapshot), or resized. Any of them since the last backup, whatever
 * its outcome (a failed one may have got half way), starts a new full chain.
 */
export const CHAIN_BREAKING_OPS = ['backup_restore', 'rebuild', 'resize', 'snapshot_revert'] as const;

/** What the next backup of a server should be: incremental against `parentId`, or full (`reason` says why). */
export type ChainDecision = { parentId: string; reason: null } | { parentId: null; reason: string | null };

/** Staff's chain length (full + incrementals, `incrementalChainMax` of the backup settings), or the default; 1 = all full. */
export async function chainLimit(m: Pick<EntityManager, 'query'>): Promise<number> {
  const [row]: { value: { incrementalChainMax?: unknown } }[] = await m.query(`SELECT value FROM settings WHERE key = $1`, [BACKUP_SETTINGS_KEY]);
  const v = row?.value?.incrementalChainMax;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= BACKUP_INCREMENTAL_CHAIN_MAX ? v : BACKUP_INCREMENTAL_CHAIN_DEFAULT;
}

/**
 * The chain rules (DESIGN.md "Incremental backups"): a server's first backup is full; the next ones are incremental
 * against its newest ready backup while the chain is sound, and full (with the reason) when it is in doubt: the newest
 * backup that did not fail is not ready (being deleted), it was taken on another node (the server moved), of another
 * disk size (resized), a restore, rebuild, resize or snapshot revert ran since, a link of its chain is not ready, the
 * chain has `limit` backups already, or the server is not running (a stopped server's disk is copied whole by
 * qemu-img, with no checkpoint). The node has the last word: it makes a full backup when it holds no sound checkpoint
 * of the parent, and says so.
 */
export async function nextInChain(m: EntityManager, server: Pick<ServerEntity, 'id' | 'nodeId' | 'diskGiB' | 'state'>, limit: number): Promise<ChainDecision> {
  const [last] = await m.query(
    `SELECT id, state, node_id, virtual_size_bytes, created_at FROM backups WHERE server_id = $1 AND state <> 'failed' AND state NOT IN ('pending', 'running') ORDER BY created_at DESC, id DESC LIMIT 1`,
    [server.id],
  ) as { id: string; state: string; node_id: string | null; virtual_size_bytes: string; created_at: Date }[];
  if (!last) return { parentId: null, reason: null };
  if (server.state !== 'running' && server.state !== 'paused') return { parentId: null, reason: 'the server was stopped: its disk is copied whole, with no checkpoint to follow' };
  if (last.state !== 'ready') return { parentId: null, reason: `the last backup is ${last.state}` };
  if (limit <= 1) return { parentId: null, reason: 'incremental backups are off (a chain of 1)' };
  if (last.node_id !== server.nodeId) return { parentId: null, reason: 'the server moved to another node since the last backup' };
  if (Number(last.virtual_size_bytes) !== server.diskGiB * 1024 ** 3) return { parentId: null, reason: 'the disk was resized since the last backup' };
  const [since] = await m.query(
    `SELECT op FROM tasks WHERE server_id = $1 AND op = ANY($2) AND created_at >= $3 ORDER BY created_at DESC LIMIT 1`,
    [server.id, CHAIN_BREAKING_OPS, last.created_at],
  ) as { op: string }[];
  if (since) return { parentId: null, reason: `a ${since.op.replace('_', ' ')} ran since the last backup` };
  let links: BackupChainLink[];
  try {
    links = await chainOf(m, last.id);
  } catch {
    return { parentId: null, reason: 'a backup of the last backup\'s chain is no longer ready' };
  }
  if (links.length + 1 >= limit) return { parentId: null, reason: `the chain has ${links.length + 1} backups, the most it may have is ${limit}` };
  return { parentId: last.id, reason: null };
}

/**
 * The backups an incremental builds on, oldest first (the full one, then each incremental up to its parent); empty for
 * a full backup. Every link must be ready with its checksum (409 `backup_chain_broken` otherwise).
 */
export async function chainOf(m: Pick<EntityManager, 'query'>, backupId: string): Promise<BackupChainLink[]> {
  const rows = await m.query(
    `WITH RECURSIVE chain AS (
       SELECT id, server_id, parent_id, state, sha256, 0 AS depth FROM backups WHERE id = $1
       UNION ALL
       SELECT p.id, p.server_id, p.parent_id, p.state, p.sha256, c.depth + 1 FROM backups p JOIN chain c ON p.id = c.parent_id WHERE c.depth < $2
     ) SELECT id, server_id, parent_id, state, sha256 FROM chain ORDER BY depth DESC`,
    [backupId, BACKUP_CHAIN_LINKS_MAX],
  ) as { id: string; server_id: string; parent_id: string | null; state: string; sha256: string | null }[];
  const parents = rows.slice(0, -1);
  if (rows[0]?.parent_id) throw new BackupError('backup_chain_broken', 'The backup\'s chain is longer than a restore can take.');
  for (const p of parents) {
    if (p.state !== 'ready' || !p.sha256) throw new BackupError('backup_chain_broken', `A backup this incremental builds on (${p.id}) is ${p.state}; it cannot be restored.`);
  }
  return parents.map((p) => ({ id: p.id, serverId: p.server_id, sha256: p.sha256! }));
}

/** Refuse to delete a backup that later incrementals build on (409 `backup_has_children`): they would be unrestorable. */
export async function refuseParentOfLive(m: Pick<EntityManager, 'query'>, backupId: string): Promise<void> {
  const [{ n }] = await m.query(`SELECT count(*)::int AS n FROM backups WHERE parent_id = $1`, [backupId]) as { n: number }[];
  if (n > 0) {
    throw new BackupError('backup_has_children', `${n === 1 ? 'A later incremental backup builds' : `${n} later incremental backups build`} on this backup; delete ${n === 1 ? 'it' : 'them'} first (newest first), or let retention remove the chain.`);
  }
}
