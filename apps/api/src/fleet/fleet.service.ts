import { Inject, Injectable } from '@nestjs/common';
import type { IpPoolView, NodeJoinView, NodeOrphanView, NodeRegistrationView, NodeView } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { pgCode } from '../database/sql.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { Actor } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { NatsService } from '../messaging/nats.service.js';
import { NotificationsService } from '../notifications/notifications.service.js';
import { NodeCredentialsService } from './node-credentials.service.js';
import { NodeJoinService } from './node-join.service.js';
import { assignableRange, CidrError, contains, formatCidr, offsetOf, parseCidr, parseIp } from './cidr.js';
import { NodeEntity } from './fleet.entities.js';
import { FleetError } from './fleet.errors.js';
import type { CreateIpPoolDto, RegisterNodeDto, UpdateNodeDto } from './fleet.dto.js';

@Injectable()
export class FleetService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(NotificationsService) private readonly notifications: NotificationsService,
    @Inject(NodeCredentialsService) private readonly credentials: NodeCredentialsService,
    @Inject(NodeJoinService) private readonly joins: NodeJoinService,
  ) {}

  async registerNode(actor: Actor, dto: RegisterNodeDto): Promise<NodeRegistrationView> {
    const node = await this.ds.transaction(async (m) => {
      const loc = await m.query('SELECT 1 FROM locations WHERE id = $1', [dto.locationId]);
      if (!loc.length) throw new FleetError('location_not_found', `No location with id ${dto.locationId}; create it first under /api/v1/admin/locations.`);
      const dup = await m.query('SELECT 1 FROM nodes WHERE name = $1', [dto.name]);
      if (dup.length) throw new FleetError('duplicate', `A node named "${dto.name}" is already registered.`);
      const row = await m.save(
        m.create(NodeEntity, {
          name: dto.name, locationId: dto.locationId, state: dto.state ?? 'pending', vcpus: dto.vcpus, memoryMiB: dto.memoryMiB, diskGiB: dto.diskGiB,
          cpuOvercommit: dto.cpuOvercommit ?? 4, memoryOvercommit: dto.memoryOvercommit ?? 1, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0,
          natsUser: `node-${dto.name}`, lastHeartbeatAt: null, daemonVersion: null, hypervisor: null, backupPublicKey: null,
        }),
      );
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'node.register', targetType: 'node', targetId: row.id, ip: actor.ip, details: { name: row.name } });
      const daemon = await this.daemonCredentials(m, row);
      const join = await this.joins.newToken(m, row.id, actor.userId);
      return { row: { ...row, natsUser: daemon.natsUser }, daemon, join };
    });
    await this.nats.ensureNodeConsumer(node.row.id);
    return { node: nodeView(node.row), daemon: node.daemon, join: node.join };
  }

  /**
   * New NATS credentials for a node (a lost .creds file, a reinstalled host). With
   * NATS_ACCOUNT_SEED set they are a user of its own limited to the node's subjects; shown once.
   * The node's older credentials are revoked (with NATS_OPERATOR_SIGNING_SEED and NATS_SYSTEM_CREDS).
   */
  async issueNodeCredentials(actor: Actor, id: string): Promise<NodeRegistrationView> {
    const out = await this.ds.transaction(async (m) => {
      const node = await m.findOne(NodeEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!node) throw new FleetError('node_not_found', `No node with id ${id}.`);
      const daemon = await this.daemonCredentials(m, node);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'node.credentials', targetType: 'node', targetId: id, ip: actor.ip, details: { natsUser: daemon.natsUser } });
      const join = await this.joins.newToken(m, id, actor.userId);
      return { node: { ...node, natsUser: daemon.natsUser }, daemon, join };
    });
    await this.nats.ensureNodeConsumer(id);
    return { node: nodeView(out.node), daemon: out.daemon, join: out.join };
  }

  /** A new single-use join command for the node (the old unused one stops working). */
  async newJoin(actor: Actor, id: string): Promise<NodeJoinView> {
    const join = await this.ds.transaction(async (m) => {
      const found = await m.query('SELECT 1 FROM nodes WHERE id = $1', [id]);
      if (!found.length) throw new FleetError('node_not_found', `No node with id ${id}.`);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'node.join_token', targetType: 'node', targetId: id, ip: actor.ip });
      return this.joins.newToken(m, id, actor.userId);
    });
    await this.nats.ensureNodeConsumer(id);
    return join;
  }

  private async daemonCredentials(m: EntityManager, node: NodeEntity): Promise<NodeRegistrationView['daemon']> {
    const base = { nodeId: node.id, natsUrl: this.config.nodes.natsUrl, subjectPrefix: this.config.natsSubjectPrefix };
    const minted = await this.credentials.issue(m, node.id);
    if (!minted) return { ...base, natsUser: node.natsUser };
    return { ...base, natsUser: minted.userPublicKey, natsCreds: minted.creds };
  }

  async listNodes(): Promise<NodeView[]> {
    return (await this.ds.getRepository(NodeEntity).find({ order: { name: 'ASC' } })).map(nodeView);
  }

  async getNode(id: string): Promise<NodeView> {
    const row = await this.ds.getRepository(NodeEntity).findOneBy({ id });
    if (!row) throw new FleetError('node_not_found', `No node with id ${id}.`);
    return nodeView(row);
  }

  /** Domains the node held that it should not (node-events/orphans.service.ts), newest first. */
  async listOrphans(id: string): Promise<NodeOrphanView[]> {
    await this.getNode(id);
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT node_id, server_id, reason, first_seen_at, last_seen_at, told_at, outcome, outcome_message, resolved_at
         FROM node_orphans WHERE node_id = $1 ORDER BY last_seen_at DESC LIMIT 500`,
      [id],
    );
    const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
    return rows.map((r) => ({
      nodeId: r.node_id as string, serverId: r.server_id as string, reason: r.reason as NodeOrphanView['reason'],
      firstSeenAt: iso(r.first_seen_at)!, lastSeenAt: iso(r.last_seen_at)!, toldAt: iso(r.told_at),
      outcome: (r.outcome as NodeOrphanView['outcome']) ?? null, outcomeMessage: (r.outcome_message as string | null) ?? null, resolvedAt: iso(r.resolved_at),
    }));
  }

  async updateNode(actor: Actor, id: string, dto: UpdateNodeDto): Promise<NodeView> {
    return this.ds.transaction(async (m) => {
      const row = await m.findOne(NodeEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row) throw new FleetError('node_not_found', `No node with id ${id}.`);
      const wasMaintenance = row.state === 'maintenance';
      Object.assign(row, dto);
      const saved = await m.save(row);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'node.update', targetType: 'node', targetId: id, ip: actor.ip, details: { ...dto } });
      if (!wasMaintenance && saved.state === 'maintenance') await this.tellTenantsOfMaintenance(m, id);
      return nodeView(saved);
    });
  }

  /** Every tenant with a server on the node hears of the maintenance (once per maintenance window). */
  private async tellTenantsOfMaintenance(m: EntityManager, nodeId: string): Promise<void> {
    const rows: { tenant_id: string; hostnames: string[] }[] = await m.query(
      `SELECT tenant_id, array_agg(hostname ORDER BY hostname) AS hostnames FROM servers WHERE node_id = $1 AND state <> 'deleted' GROUP BY tenant_id`,
      [nodeId],
    );
    const window = new Date().toISOString();
    for (const r of rows) {
      await this.notifications.notify(m, {
        tenantId: r.tenant_id, kind: 'node.maintenance', link: '/servers', dedupKey: `maintenance:${nodeId}:${r.tenant_id}:${window}`,
        title: 'Maintenance of the host your servers run on',
        body: `The provider is doing maintenance on the host of ${r.hostnames.join(', ')}. Your servers keep running unless you are told otherwise; new servers are placed on other hosts meanwhile.`,
      });
    }
  }

  async deleteNode(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const live = await m.query(`SELECT count(*)::int AS n FROM servers WHERE node_id = $1 AND state <> 'deleted'`, [id]);
      if (live[0].n > 0) throw new FleetError('in_use', `The node still hosts ${live[0].n} server(s); move or delete them first, or set it to maintenance.`);
      await this.credentials.revokeAll(m, id);
      try {
        const res = await m.delete(NodeEntity, { id });
        if (!res.affected) throw new FleetError('node_not_found', `No node with id ${id}.`);
      } catch (err) {
        if (pgCode(err) === '23503') throw new FleetError('in_use', 'Deleted servers still reference this node; set it to maintenance instead.');
        throw err;
      }
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'node.delete', targetType: 'node', targetId: id, ip: actor.ip });
    });
    await this.nats.removeNodeConsumer(id);
  }

  async createPool(actor: Actor, dto: CreateIpPoolDto): Promise<IpPoolView> {
    let cidr;
    let gateway;
    try {
      cidr = parseCidr(dto.cidr);
    } catch (err) {
      if (err instanceof CidrError) throw new FleetError('invalid_cidr', `cidr: ${err.message}.`, [{ field: 'cidr', problems: [err.message] }]);
      throw err;
    }
    try {
      gateway = parseIp(dto.gateway);
    } catch (err) {
      if (err instanceof CidrError) throw new FleetError('invalid_cidr', `gateway: ${err.message}.`, [{ field: 'gateway', problems: [err.message] }]);
      throw err;
    }
    if (!contains(cidr, gateway)) {
      throw new FleetError('gateway_outside_block', `The gateway ${dto.gateway} lies outside ${formatCidr(cidr)}; servers reach their gateway on-link, so it must be an address of the block.`, [
        { field: 'gateway', problems: ['outside the block'] },
      ]);
    }
    if ((cidr.family === 4 && cidr.prefix > 30) || (cidr.family === 6 && (cidr.prefix < 48 || cidr.prefix > 124))) {
      throw new FleetError('ip_pool_too_small', cidr.family === 4 ? 'An IPv4 pool must be a /30 or larger.' : 'An IPv6 pool must be between /48 and /124.');
    }
    const range = assignableRange(cidr);
    const gwOffset = offsetOf(cidr, gateway);
    const gatewayAssignable = gwOffset >= range.first && gwOffset <= range.last;
    const total = range.last - range.first + 1n - (gatewayAssignable ? 1n : 0n);
    const text = formatCidr(cidr);
    try {
      return await this.ds.transaction(async (m) => {
        const loc = await m.query('SELECT 1 FROM locations WHERE id = $1', [dto.locationId]);
        if (!loc.length) throw new FleetError('location_not_found', `No location with id ${dto.locationId}.`);
        const clash: { cidr: string }[] = await m.query('SELECT cidr::text AS cidr FROM ip_pools WHERE cidr && $1::cidr', [text]);
        if (clash.length) throw overlap(text, clash[0]!.cidr);
        const [row]: { id: string }[] = await m.query(
          `INSERT INTO ip_pools (location_id, family, cidr, gateway, first_offset, last_offset, total)
           VALUES ($1, $2, $3::cidr, $4::inet, $5::numeric, $6::numeric, $7::numeric) RETURNING id`,
          [dto.locationId, cidr.family, text, dto.gateway.trim(), range.first.toString(), range.last.toString(), total.toString()],
        );
        if (gatewayAssignable) {
          await m.query(`INSERT INTO ip_addresses (pool_id, "offset", address, reserved_for) VALUES ($1, $2::numeric, $3::inet, 'gateway')`, [row!.id, gwOffset.toString(), dto.gateway.trim()]);
        }
        await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'ip_pool.create', targetType: 'ip_pool', targetId: row!.id, ip: actor.ip, details: { cidr: text, gateway: dto.gateway } });
        return this.poolView(m, row!.id);
      });
    } catch (err) {
      if (pgCode(err) === '23P01') throw overlap(text, 'another pool');
      throw err;
    }
  }

  async listPools(): Promise<IpPoolView[]> {
    return this.poolViews(this.ds.manager, null);
  }

  async deletePool(actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const used = await m.query(`SELECT count(*)::int AS n FROM ip_addresses WHERE pool_id = $1 AND reserved_for IS NULL`, [id]);
      if (used[0].n > 0) throw new FleetError('in_use', `${used[0].n} address(es) of this pool are still assigned to servers.`);
      await m.query('DELETE FROM ip_addresses WHERE pool_id = $1', [id]);
      const res = await m.query('DELETE FROM ip_pools WHERE id = $1', [id]);
      if (!res[1]) throw new FleetError('ip_pool_not_found', `No IP pool with id ${id}.`);
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'ip_pool.delete', targetType: 'ip_pool', targetId: id, ip: actor.ip });
    });
  }

  private async poolView(m: DataSource['manager'], id: string): Promise<IpPoolView> {
    const [view] = await this.poolViews(m, id);
    return view!;
  }

  private async poolViews(m: DataSource['manager'], id: string | null): Promise<IpPoolView[]> {
    const rows: { id: string; location_id: string; family: 4 | 6; cidr: string; gateway: string; total: string; used: number }[] = await m.query(
      `SELECT p.id, p.location_id, p.family, p.cidr::text AS cidr, host(p.gateway) AS gateway, p.total::text AS total,
              (SELECT count(*)::int FROM ip_addresses a WHERE a.pool_id = p.id AND a.reserved_for IS NULL) AS used
         FROM ip_pools p ${id ? 'WHERE p.id = $1' : ''} ORDER BY p.created_at, p.id`,
      id ? [id] : [],
    );
    return rows.map((r) => ({
      id: r.id, locationId: r.location_id, family: r.family, cidr: r.cidr, gateway: r.gateway,
      total: Number(BigInt(r.total) > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : BigInt(r.total)), used: r.used,
    }));
  }
}

function overlap(cidr: string, other: string): FleetError {
  return new FleetError('ip_pool_overlap', `${cidr} overlaps the existing pool ${other}; pools may not share addresses.`, [{ field: 'cidr', problems: [`overlaps ${other}`] }]);
}

export function nodeView(n: NodeEntity): NodeView {
  return {
    id: n.id, name: n.name, locationId: n.locationId, state: n.state, vcpus: n.vcpus, memoryMiB: n.memoryMiB, diskGiB: n.diskGiB,
    cpuOvercommit: n.cpuOvercommit, memoryOvercommit: n.memoryOvercommit, usedVcpus: n.usedVcpus, usedMemoryMiB: n.usedMemoryMiB, usedDiskGiB: n.usedDiskGiB,
    lastHeartbeatAt: n.lastHeartbeatAt?.toISOString() ?? null, backupPublicKey: n.backupPublicKey ?? null,
  };
}
