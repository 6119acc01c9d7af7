import { Inject, Injectable } from '@nestjs/common';
import { SERVER_STATE_ORDER, type Page, type ServerView, type TaskView } from '@oblako/contracts';
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

export const SERVER_SORTS = ['created', 'name', 'state'] as const;
export type ServerSort = (typeof SERVER_SORTS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];
export interface ListQuery {
  q?: string;
  sort?: ServerSort;
  order?: SortOrder;
  cursor?: string;
  limit?: number;
}

/**
 * A state's place in the contract's lifecycle order (SERVER_STATE_ORDER), as SQL: "running" before "stopped",
 * "deleting" near the end, not the alphabet. The states are the contract's constants (plain words, checked
 * here and in its spec), so the literal array carries no input; a state the list lacks sorts last.
 */
const STATE_RANK_SQL = ((states: readonly string[]) => {
  if (!states.every((x) => /^[a-z_]+$/.test(x))) throw new Error('SERVER_STATE_ORDER holds a state that is not a plain word');
  return `COALESCE(array_position(ARRAY[${states.map((x) => `'${x}'`).join(', ')}]::text[], s.state), ${states.length + 1})`;
})(SERVER_STATE_ORDER);

/** The keyset of each order: its columns, the id last so that every row has one place. */
const SORT_KEYS: Record<ServerSort, { col: string; type: 'timestamptz' | 'uuid' | 'text' | 'int' }[]> = {
  created: [{ col: 's.created_at', type: 'timestamptz' }, { col: 's.id', type: 'uuid' }],
  name: [{ col: 's.hostname', type: 'text' }, { col: 's.id', type: 'uuid' }],
  state: [{ col: STATE_RANK_SQL, type: 'int' }, { col: 's.created_at', type: 'timestamptz' }, { col: 's.id', type: 'uuid' }],
};

/** What customers and staff read about servers: pages (keyset cursors), one server, its tasks. Reads only. */
@Injectable()
export class ServerViewsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(IpAllocatorService) private readonly ips: IpAllocatorService,
  ) {}

  /** One team's servers, a page at a time: `q` searches, `sort`/`order` order them, the cursor is bound to that order. */
  list(tenantId: string, q: ListQuery = {}): Promise<Page<ServerView>> {
    return this.page({ tenantId }, q);
  }

  /** Staff: servers of every tenant, optionally by tenant, node or state, with the same search and order. Not for customer routes. */
  listForStaff(filter: { tenantId?: string; nodeId?: string; state?: string }, q: ListQuery = {}): Promise<Page<ServerView>> {
    return this.page({ ...filter, staff: true }, q);
  }

  private async page(filter: { tenantId?: string; nodeId?: string; state?: string; staff?: boolean }, q: ListQuery): Promise<Page<ServerView>> {
    const sort = q.sort ?? 'created';
    const order = q.order ?? (sort === 'created' ? 'desc' : 'asc');
    const limit = q.limit ?? DEFAULT_PAGE;
    const keys = SORT_KEYS[sort];
    const scope = listScope(filter, q.q);
    const after = q.cursor ? decodeListCursor(q.cursor, sort, order, scope) : null;
    const where: string[] = [];
    const params: unknown[] = [limit + 1];
    const add = (sql: string, ...values: unknown[]) => {
      let out = sql;
      for (const v of values) {
        params.push(v);
        out = out.replace('?', `$${params.length}`);
      }
      where.push(out);
    };
    if (filter.tenantId) add('s.tenant_id = ?', filter.tenantId);
    if (filter.nodeId) add('s.node_id = ?', filter.nodeId);
    if (filter.state) add('s.state = ?', filter.state);
    else where.push('s.deleted_at IS NULL');
    if (scope.q) {
      const like = scope.q.replace(/[\\%_]/g, (c) => `\\${c}`);
      add(`(s.hostname ILIKE '%' || ? || '%' OR EXISTS (SELECT 1 FROM ip_addresses a WHERE a.server_id = s.id AND host(a.address) LIKE ? || '%'))`, like, like);
    }
    if (after) {
      const cmp = order === 'desc' ? '<' : '>';
      const placeholders = keys.map((k, i) => {
        params.push(after[i]);
        return `$${params.length}::${k.type}`;
      });
      where.push(`(${keys.map((k) => k.col).join(', ')}) ${cmp} (${placeholders.join(', ')})`);
    }
    const dir = order === 'desc' ? 'DESC' : 'ASC';
    const rows: Record<string, string>[] = await this.ds.query(
      `SELECT ${keys.map((k, i) => `${k.col}${k.type === 'timestamptz' ? '::text' : ''} AS k${i}`).join(', ')} FROM servers s
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ${keys.map((k) => `${k.col} ${dir}`).join(', ')} LIMIT $1`,
      params,
    );
    const idKey = `k${keys.length - 1}`;
    const page = rows.slice(0, limit);
    const ids = page.map((r) => r[idKey]!);
    const servers = ids.length ? await this.ds.getRepository(ServerEntity).findBy(filter.staff ? { id: In(ids) } : { tenantId: filter.tenantId, id: In(ids) }) : [];
    const views = await this.views(this.ds.manager, servers);
    const byId = new Map(views.map((v) => [v.id, v]));
    const last = page[page.length - 1];
    return {
      items: ids.map((id) => byId.get(id)!),
      nextCursor: rows.length > limit && last ? encodeListCursor(sort, order, scope, keys.map((_, i) => String(last[`k${i}`]))) : null,
    };
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
      sshKeyIds: [...s.sshKeyIds],
      rootPasswordSet: s.rootPasswordHash !== null && s.rootPasswordHash !== undefined,
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

const CURSOR_NOT_OURS = 'The cursor is not one this API issued; pass nextCursor from the previous page unchanged, or omit it for the first page.';
const TS_PATTERN = /^\d{4}-\d{2}-\d{2}[ T][\d:.]+([+-]\d{2}(:?\d{2})?|Z)?$/;

export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof ts === 'string' && typeof id === 'string' && TS_PATTERN.test(ts) && /^[0-9a-f-]{36}$/i.test(id)) return { ts, id };
  } catch {
    // fall through
  }
  throw new ServerError('invalid_cursor', CURSOR_NOT_OURS);
}


/**
 * What one walk through the list is of, besides its order: the search (trimmed, in lower case, as it matches) and,
 * for staff, the tenant/node/state filters. A cursor carries it and is refused for any other, because its keys
 * only mean "after this row" among the rows that search and those filters select.
 */
export interface ListScope {
  q: string;
  filters: string;
}

export function listScope(filter: { tenantId?: string; nodeId?: string; state?: string; staff?: boolean }, q: string | undefined): ListScope {
  return {
    q: (q ?? '').trim().toLowerCase(),
    filters: filter.staff ? [filter.tenantId ?? '', filter.nodeId ?? '', filter.state ?? ''].join('|') : '',
  };
}


/** A server-list cursor: the sort, order and scope it belongs to, and the last row's keys. */
export function encodeListCursor(sort: ServerSort, order: SortOrder, scope: ListScope, keys: string[]): string {
  return Buffer.from(JSON.stringify({ s: sort, o: order, q: scope.q, f: scope.filters, k: keys })).toString('base64url');
}

export function decodeListCursor(cursor: string, sort: ServerSort, order: SortOrder, scope: ListScope): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  const c = parsed as { s?: unknown; o?: unknown; q?: unknown; f?: unknown; k?: unknown } | null;
  const keys = SERVER_SORTS.includes(c?.s as ServerSort) ? SORT_KEYS[c!.s as ServerSort] : null;
  const valid = keys && SORT_ORDERS.includes(c!.o as SortOrder) && typeof c!.q === 'string' && c!.q.length <= 253 &&
    typeof c!.f === 'string' && c!.f.length <= 200 && Array.isArray(c!.k) && c!.k.length === keys.length &&
    c!.k.every((v, i) => typeof v === 'string' && v.length <= 300 && (keys[i]!.type !== 'uuid' || /^[0-9a-f-]{36}$/i.test(v)) &&
      (keys[i]!.type !== 'timestamptz' || TS_PATTERN.test(v)) && (keys[i]!.type !== 'int' || /^\d{1,4}$/.test(v)));
  if (!valid) throw new ServerError('invalid_cursor', CURSOR_NOT_OURS);
  if (c!.s !== sort || c!.o !== order) {
    throw new ServerError('invalid_cursor', `This cursor belongs to sort=${String(c!.s)}&order=${String(c!.o)}, not sort=${sort}&order=${order}; start again without a cursor when the order changes.`);
  }
  if (c!.q !== scope.q) {
    const named = (x: string) => (x ? `the search "${x}"` : 'no search');
    throw new ServerError('invalid_cursor', `This cursor belongs to ${named(c!.q as string)}, not ${named(scope.q)}; start again without a cursor when the search changes.`);
  }
  if (c!.f !== scope.filters) {
    throw new ServerError('invalid_cursor', 'This cursor belongs to other filters (tenant, node or state); start again without a cursor when the filters change.');
  }
  return c!.k as string[];
}
