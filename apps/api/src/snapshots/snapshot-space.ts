import type { EntityManager } from 'typeorm';
import { SnapshotEntity } from './snapshot.entity.js';
import { SnapshotError } from './snapshots.errors.js';

const GiB = 1024 ** 3;

/** Whole GiB a snapshot of `bytes` holds of its node's disk (at least 1: the space is there before it is measured). */
export function reservedGiBFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / GiB));
}

/** Add (or, negative, give back) snapshot space to a node's used disk. */
export async function adjustNodeDisk(m: EntityManager, nodeId: string, gib: number): Promise<void> {
  if (gib === 0) return;
  await m.query(`UPDATE nodes SET used_disk_gib = greatest(used_disk_gib + $2, 0) WHERE id = $1`, [nodeId, gib]);
}

/** A node with at least `gib` of its disk free. */
export async function nodeHasDisk(m: EntityManager, nodeId: string, gib: number): Promise<boolean> {
  const [r]: { ok: boolean }[] = await m.query(`SELECT used_disk_gib + $2 <= disk_gib AS ok FROM nodes WHERE id = $1`, [nodeId, gib]);
  return r?.ok === true;
}

/** The server is gone from its node with its disk: its snapshots went with it; give their space back and forget them. */
export async function dropSnapshotsOf(m: EntityManager, serverId: string): Promise<void> {
  const rows = await m.find(SnapshotEntity, { where: { serverId } });
  for (const s of rows) await adjustNodeDisk(m, s.nodeId, -s.reservedGiB);
  if (rows.length) await m.delete(SnapshotEntity, { serverId });
}

/**
 * A rebuild replaces the disk (its internal snapshots would vanish under libvirt's records) and QEMU cannot grow a
 * qcow2 that holds internal snapshots: both are refused while the server has any (409 snapshots_exist).
 */
export async function refuseWhileSnapshots(m: EntityManager, serverId: string, what: string): Promise<void> {
  const n = await m.countBy(SnapshotEntity, { serverId });
  if (n > 0) throw new SnapshotError('snapshots_exist', `The server has ${n} snapshot${n === 1 ? '' : 's'}; delete ${n === 1 ? 'it' : 'them'} before ${what}.`);
}
