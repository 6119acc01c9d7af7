import { Inject, Injectable } from '@nestjs/common';
import { NODE_HEARTBEAT_HISTORY, type Heartbeat, type NodeHeartbeatView } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { FleetError } from '../fleet/fleet.errors.js';

/**
 * The node page's heartbeat history (issue 15): each heartbeat of a known node is kept with its time on the node,
 * the time received, the domain count, the host's load and the daemon's version, in a bounded ring (the newest
 * NODE_HEARTBEAT_HISTORY per node; older rows go in the same statement as the insert). Staff only.
 */
@Injectable()
export class HeartbeatHistoryService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async record(nodeId: string, hb: Heartbeat): Promise<void> {
    // the node's clock, never later than ours; a heartbeat of a node nobody registered is not kept
    const at = new Date(Math.min(hb.at, Date.now()));
    await this.ds.query(
      `WITH ins AS (
         INSERT INTO node_heartbeats (node_id, at, domains, load1, daemon_version)
         SELECT id, $2, $3, $4, $5 FROM nodes WHERE id = $1
         RETURNING id
       )
       DELETE FROM node_heartbeats WHERE node_id = $1 AND id NOT IN (
         SELECT id FROM node_heartbeats WHERE node_id = $1 ORDER BY id DESC LIMIT $6 - 1
       ) AND EXISTS (SELECT 1 FROM ins)`,
      [nodeId, at, hb.domains.length, hb.load1 ?? null, hb.daemonVersion.slice(0, 64), NODE_HEARTBEAT_HISTORY],
    );
  }

  /** The node's last heartbeats, newest first; 404 for a node that does not exist. */
  async list(nodeId: string): Promise<NodeHeartbeatView[]> {
    const [node]: unknown[] = await this.ds.query('SELECT 1 FROM nodes WHERE id = $1', [nodeId]);
    if (!node) throw new FleetError('node_not_found', `No node with id ${nodeId}.`);
    const rows: { at: Date; received_at: Date; domains: number; load1: number | null; daemon_version: string | null }[] = await this.ds.query(
      `SELECT at, received_at, domains, load1, daemon_version FROM node_heartbeats WHERE node_id = $1 ORDER BY id DESC LIMIT $2`,
      [nodeId, NODE_HEARTBEAT_HISTORY],
    );
    return rows.map((r) => ({
      at: new Date(r.at).toISOString(), receivedAt: new Date(r.received_at).toISOString(), domains: r.domains,
      load1: r.load1 === null ? null : Math.round(Number(r.load1) * 100) / 100, daemonVersion: r.daemon_version,
    }));
  }
}
