import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { changedCount } from '../database/sql.js';
import { weighNodes, type NodeCapacity, type ResourceRequest } from './placement.js';
import { ServerError } from './servers.errors.js';

interface NodeRow {
  id: string; vcpus: number; memory_mib: number; disk_gib: number; cpu_overcommit: string; memory_overcommit: string;
  used_vcpus: number; used_memory_mib: number; used_disk_gib: number;
}

const FITS = `state = 'online'
  AND used_vcpus + $2 <= floor(vcpus * cpu_overcommit)
  AND used_memory_mib + $3 <= floor(memory_mib * memory_overcommit)
  AND used_disk_gib + $4 <= disk_gib`;
const COLUMNS = 'id, vcpus, memory_mib, disk_gib, cpu_overcommit, memory_overcommit, used_vcpus, used_memory_mib, used_disk_gib';

/**
 * Reserves room for one server on a node inside the caller's transaction.
 *
 * 1. Filter and weigh the candidates without locks (placement.ts, spread).
 * 2. Try them best first with `FOR UPDATE SKIP LOCKED`, so concurrent orders spread over free nodes
 *    instead of queueing on the same one.
 * 3. If every candidate is locked by another order, wait on them in order with a plain `FOR UPDATE`.
 *    PostgreSQL re-checks the capacity condition on the newest row version after the wait, so an
 *    order that would overfill a node gets no row and moves on (or fails with no_capacity).
 * The reservation (used_* counters) is written while the row lock is held and commits with the
 * server, its address, the task and the outbox row, or not at all.
 */
@Injectable()
export class NodePlacementService {
  /** `exclude`: nodes not to use (a create placed again after its node failed). */
  async reserve(m: EntityManager, locationId: string, req: ResourceRequest, exclude: readonly string[] = []): Promise<string> {
    const params = [locationId, req.vcpus, req.memoryMiB, req.diskGiB];
    const rows: NodeRow[] = await m.query(`SELECT ${COLUMNS} FROM nodes WHERE location_id = $1 AND ${FITS}`, params);
    const ordered = weighNodes(rows.filter((r) => !exclude.includes(r.id)).map(toCapacity), req);
    for (const mode of ['FOR UPDATE SKIP LOCKED', 'FOR UPDATE'] as const) {
      for (const node of ordered) {
        const locked: { id: string }[] = await m.query(`SELECT id FROM nodes WHERE id = $5 AND location_id = $1 AND ${FITS} ${mode}`, [...params, node.id]);
        if (!locked.length) continue;
        await m.query(
          `UPDATE nodes SET used_vcpus = used_vcpus + $2, used_memory_mib = used_memory_mib + $3, used_disk_gib = used_disk_gib + $4 WHERE id = $1`,
          [node.id, req.vcpus, req.memoryMiB, req.diskGiB],
        );
        return node.id;
      }
    }
    const [nodes]: { online: number; total: number }[] = await m.query(
      `SELECT count(*) FILTER (WHERE state = 'online')::int AS online, count(*)::int AS total FROM nodes WHERE location_id = $1`,
      [locationId],
    );
    if (!nodes?.online) {
      throw new ServerError(
        'no_node_available',
        `No node is available in this location right now (${nodes?.total ? `${nodes.total} registered, none online` : 'none registered'}); the order was not placed. Try another location, or again later.`,
      );
    }
    throw new ServerError(
      'no_capacity',
      'No capacity: no node in this location has room for this plan right now. Try a smaller plan or another location, or try again later.',
    );
  }

  /**
   * Refuse at once when the server's node cannot take a command: it is offline (silent for more than the
   * offline threshold) or has never connected. Nothing is queued for it.
   */
  async requireReachable(m: EntityManager, nodeId: string, what: string): Promise<void> {
    const [node]: { state: string; last_heartbeat_at: Date | null }[] = await m.query('SELECT state, last_heartbeat_at FROM nodes WHERE id = $1', [nodeId]);
    if (!node || node.state === 'online' || node.state === 'maintenance') return;
    const since = node.last_heartbeat_at ? ` since ${node.last_heartbeat_at.toISOString()}` : '';
    throw new ServerError(
      'node_unavailable',
      node.state === 'pending'
        ? `The server's node has not connected yet; the ${what} was not sent. Try again later, or contact support.`
        : `The server's node is offline (no word from it${since}); the ${what} was not sent. Try again when it is back, or contact support.`,
    );
  }

  /**
   * Hold more room for a server on its own node (a resize), in the caller's transaction: one conditional UPDATE,
   * so two resizes on one node cannot both take its last room. 409 `no_capacity` when it does not fit.
   */
  async grow(m: EntityManager, nodeId: string, req: ResourceRequest): Promise<void> {
    if (req.vcpus === 0 && req.memoryMiB === 0 && req.diskGiB === 0) return;
    const held = changedCount(await m.query(
      `UPDATE nodes SET used_vcpus = used_vcpus + $2, used_memory_mib = used_memory_mib + $3, used_disk_gib = used_disk_gib + $4
        WHERE id = $1 AND used_vcpus + $2 <= floor(vcpus * cpu_overcommit) AND used_memory_mib + $3 <= floor(memory_mib * memory_overcommit)
          AND used_disk_gib + $4 <= disk_gib
        RETURNING id`,
      [nodeId, req.vcpus, req.memoryMiB, req.diskGiB],
    ));
    if (held === 0) {
      throw new ServerError('no_capacity', "No room: the server's node does not have the vCPU, memory or disk this plan needs right now. Pick a smaller plan, or try again later.");
    }
  }

  /** Give a server's reservation back (inside the caller's transaction). */
  async release(m: EntityManager, nodeId: string, req: ResourceRequest): Promise<void> {
    await m.query(
      `UPDATE nodes SET used_vcpus = greatest(used_vcpus - $2, 0), used_memory_mib = greatest(used_memory_mib - $3, 0), used_disk_gib = greatest(used_disk_gib - $4, 0) WHERE id = $1`,
      [nodeId, req.vcpus, req.memoryMiB, req.diskGiB],
    );
  }
}

function toCapacity(r: NodeRow): NodeCapacity {
  return {
    id: r.id, vcpus: r.vcpus, memoryMiB: r.memory_mib, diskGiB: r.disk_gib, cpuOvercommit: Number(r.cpu_overcommit), memoryOvercommit: Number(r.memory_overcommit),
    usedVcpus: r.used_vcpus, usedMemoryMiB: r.used_memory_mib, usedDiskGiB: r.used_disk_gib,
  };
}
