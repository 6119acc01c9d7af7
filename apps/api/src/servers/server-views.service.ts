import { Inject, Injectable } from '@nestjs/common';
import type { Page, ServerView, TaskView } from '@oblako/contracts';
import { DataSource, In, type EntityManager } from 'typeorm';
import { ImageEntity, LocationEntity, PlanEntity } from '../catalogue/catalogue.entities.js';
import { imageView, locationView, planView } from '../catalogue/catalogue.service.js';
import { IpAllocatorService } from '../fleet/ip-allocator.service.js';
import { ACTIVE_TASKS_SQL } from '../operations/active-tasks.js';
import { IsoEntity } from '../isos/iso.entity.js';
import { isoView } from '../isos/isos.service.js';
import { ServerEntity, TaskEntity } from './server.entities.js';
import { ServerError } from './servers.errors.js';

const DEFAULT_PAGE = 25;

/** What customers and staff read about servers: pages (keyset cursors), one server, its tasks. Reads only. */
@Injectable()
export class ServerViewsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(IpAllocatorService) private readonly ips: IpAllocatorService,
  ) {}

  async list(tenantId: string, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<ServerView>> {
    const after = cursor ? decodeCursor(cursor) : null;
    const rows: { id: string; ts: string }[] = await this.ds.query(
      `SELECT id, created_at::text AS ts FROM servers
        WHERE tenant_id = $1 AND deleted_at IS NULL ${after ? 'AND (created_at, id) < ($3::timestamptz, $4::uuid)' : ''}
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      after ? [tenantId, limit + 1, after.ts, after.id] : [tenantId, limit + 1],
    );
    const page = rows.slice(0, limit);
    const servers = page.length ? await this.ds.getRepository(ServerEntity).findBy({ tenantId, id: In(page.map((r) => r.id)) }) : [];
    const views = await this.views(this.ds.manager, servers);
    const byId = new Map(views.map((v) => [v.id, v]));
    const last = page[page.length - 1];
    return { items: page.map((r) => byId.get(r.id)!), nextCursor: rows.length > limit && last ? encodeCursor(last.ts, last.id) : null };
  }

  /** Staff: servers of every tenant, newest first, optionally by tenant, node or state. Not for customer routes. */
  async listForStaff(filter: { tenantId?: string; nodeId?: string; state?: string }, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<ServerView>> {
    const after = cursor ? decodeCursor(cursor) : null;
    const where: string[] = [];
    const params: unknown[] = [limit + 1];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.tenantId) add('tenant_id = ?', filter.tenantId);
    if (filter.nodeId) add('node_id = ?', filter.nodeId);
    if (filter.state) add('state = ?', filter.state);
    else where.push('deleted_at IS NULL');
    if (after) {
      params.push(after.ts, after.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const rows: { id: string; ts: string }[] = await this.ds.query(
      `SELECT id, created_at::text AS ts FROM servers ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $1`,
      params,
    );
    const page = rows.slice(0, limit);
    const servers = page.length ? await this.ds.getRepository(ServerEntity).findBy({ id: In(page.map((r) => r.id)) }) : [];
    const views = await this.views(this.ds.manager, servers);
    const byId = new Map(views.map((v) => [v.id, v]));
    const last = page[page.length - 1];
    return { items: page.map((r) => byId.get(r.id)!), nextCursor: rows.length > limit && last ? encodeCursor(last.ts, last.id) : null };
  }

  async get(tenantId: string, id: string): Promise<ServerView> {
    const server = await this.ds.getRepository(ServerEntity).findOneBy({ tenantId, id });
    if (!server) throw notFound();
    const [view] = await this.views(this.ds.manager, [server]);
    return view!;
  }

  async tasks(tenantId: string, serverId: string): Promise<TaskView[]> {
    const exists = await this.ds.getRepository(ServerEntity).existsBy({ tenantId, id: serverId });
    if (!exists) throw notFound();
    const rows = await this.ds.getRepository(TaskEntity).find({ where: { tenantId, serverId }, order: { createdAt: 'DESC', id: 'DESC' }, take: 100 });
    return rows.map(taskView);
  }

  /** Views for a batch of servers of one tenant: a fixed number of queries, whatever the batch size. */
  async views(m: EntityManager, servers: ServerEntity[]): Promise<ServerView[]> {
    if (!servers.length) return [];
    const ids = servers.map((s) => s.id);
    const isoIds = [...new Set(servers.map((s) => s.isoId).filter((x): x is string => !!x))];
    const nodeIds = [...new Set(servers.map((s) => s.nodeId).filter((n): n is string => !!n))];
    const [plans, images, locations, addresses, current, isos, nodes] = await Promise.all([
      m.findBy(PlanEntity, { id: In([...new Set(servers.map((s) => s.planId))]) }),
      m.findBy(ImageEntity, { id: In([...new Set(servers.map((s) => s.imageId))]) }),
      m.findBy(LocationEntity, { id: In([...new Set(servers.map((s) => s.locationId))]) }),
      this.ips.addressesOf(m, ids),
      m.query(
        `SELECT DISTINCT ON (server_id) id FROM tasks WHERE server_id = ANY($1::uuid[])
          ORDER BY server_id, (state IN ${ACTIVE_TASKS_SQL}) DESC, created_at DESC, id DESC`,
        [ids],
      ) as Promise<{ id: string }[]>,
      isoIds.length ? m.findBy(IsoEntity, { id: In(isoIds) }) : Promise.resolve([] as IsoEntity[]),
      (nodeIds.length ? m.query('SELECT id, name, state FROM nodes WHERE id = ANY($1::uuid[])', [nodeIds]) : Promise.resolve([])) as Promise<{ id: string; name: string; state: string }[]>,
    ]);
    const tasks = current.length ? await m.findBy(TaskEntity, { id: In(current.map((t) => t.id)) }) : [];
    return servers.map((s) => ({
      id: s.id,
      tenantId: s.tenantId,
      hostname: s.hostname,
      state: s.state,
      plan: planView(plans.find((p) => p.id === s.planId)!),
      image: imageView(images.find((i) => i.id === s.imageId)!),
      location: locationView(locations.find((l) => l.id === s.locationId)!),
      nodeId: s.nodeId,
      nodeName: s.nodeId ? (nodes.find((n) => n.id === s.nodeId)?.name ?? null) : null,
      nodeReachable: s.nodeId ? ((n) => (n ? n.state === 'online' || n.state === 'maintenance' : null))(nodes.find((n) => n.id === s.nodeId)) : null,
      stateReason: s.stateReason ?? null,
      addresses: (addresses.get(s.id) ?? []).map((a) => ({ family: a.family, address: a.address, prefix: a.prefix, gateway: a.gateway })),
      currentTask: ((t) => (t ? taskView(t) : null))(tasks.find((t) => t.serverId === s.id)),
      iso: ((i) => (i ? isoView(i) : null))(isos.find((i) => i.id === s.isoId)),
      createdAt: s.createdAt.toISOString(),
      updatedAt: s.updatedAt.toISOString(),
    }));
  }
}

export const serverNotFound = () => new ServerError('server_not_found', 'No server with that id in this team.');
const notFound = serverNotFound;

export function taskView(t: TaskEntity): TaskView {
  return {
    id: t.id, serverId: t.serverId, op: t.op, state: t.state, progress: t.progress, stage: t.stage, error: t.error, attempts: t.attempts,
    createdAt: t.createdAt.toISOString(), updatedAt: t.updatedAt.toISOString(), finishedAt: t.finishedAt?.toISOString() ?? null,
  };
}

export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof ts === 'string' && typeof id === 'string' && /^\d{4}-\d{2}-\d{2}[ T][\d:.]+([+-]\d{2}(:?\d{2})?|Z)?$/.test(ts) && /^[0-9a-f-]{36}$/i.test(id)) return { ts, id };
  } catch {
    // fall through
  }
  throw new ServerError('invalid_cursor', 'The cursor is not one this API issued; pass nextCursor from the previous page unchanged, or omit it for the first page.');
}

