import { Inject, Injectable } from '@nestjs/common';
import type { Page, TaskOp, TaskState, TaskView } from '@oblako/contracts';
import { DataSource, In } from 'typeorm';
import { TaskEntity } from './server.entities.js';
import { decodeCursor, encodeCursor, taskView } from './server-views.service.js';

export interface AdminTaskView extends TaskView {
  hostname: string;
  tenantId: string;
  tenantName: string;
  nodeId: string | null;
  nodeName: string | null;
  serverState: string;
}

const DEFAULT_PAGE = 25;

@Injectable()
export class AdminTasksService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  /** Tasks of every tenant, newest first, optionally in one state and of one operation; staff only (no tenant filter here on purpose). */
  async list(filter: { state?: TaskState; op?: TaskOp; tenantId?: string; nodeId?: string }, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<AdminTaskView>> {
    const after = cursor ? decodeCursor(cursor) : null;
    const params: unknown[] = [limit + 1];
    const where: string[] = [];
    if (filter.state) where.push(`t.state = $${params.push(filter.state)}`);
    if (filter.op) where.push(`t.op = $${params.push(filter.op)}`);
    if (filter.tenantId) where.push(`t.tenant_id = $${params.push(filter.tenantId)}::uuid`);
    if (filter.nodeId) where.push(`t.node_id = $${params.push(filter.nodeId)}::uuid`);
    if (after) where.push(`(t.created_at, t.id) < ($${params.push(after.ts)}::timestamptz, $${params.push(after.id)}::uuid)`);
    const rows: { id: string; ts: string; hostname: string; tenant_name: string; node_name: string | null; server_state: string }[] = await this.ds.query(
      `SELECT t.id, t.created_at::text AS ts, s.hostname, tn.name AS tenant_name, n.name AS node_name, s.state AS server_state
         FROM tasks t JOIN servers s ON s.id = t.server_id JOIN tenants tn ON tn.id = t.tenant_id LEFT JOIN nodes n ON n.id = t.node_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY t.created_at DESC, t.id DESC LIMIT $1`,
      params,
    );
    const page = rows.slice(0, limit);
    const entities = page.length ? await this.ds.getRepository(TaskEntity).findBy({ id: In(page.map((r) => r.id)) }) : [];
    const byId = new Map(entities.map((t) => [t.id, t]));
    const last = page[page.length - 1];
    return {
      items: page.map((r) => {
        const t = byId.get(r.id)!;
        return { ...taskView(t), hostname: r.hostname, tenantId: t.tenantId, tenantName: r.tenant_name, nodeId: t.nodeId, nodeName: r.node_name, serverState: r.server_state };
      }),
      nextCursor: rows.length > limit && last ? encodeCursor(last.ts, last.id) : null,
    };
  }
}
