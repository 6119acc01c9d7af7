import { Inject, Injectable } from '@nestjs/common';
import type { Page, TaskState, TaskView } from '@oblako/contracts';
import { DataSource, In } from 'typeorm';
import { TaskEntity } from './server.entities.js';
import { decodeCursor, encodeCursor, taskView } from './server-views.service.js';

export interface AdminTaskView extends TaskView {
  hostname: string;
  tenantId: string;
  nodeId: string | null;
}

const DEFAULT_PAGE = 25;

@Injectable()
export class AdminTasksService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  /** Tasks of every tenant, newest first, optionally in one state; staff only (no tenant filter here on purpose). */
  async list(state: TaskState | undefined, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<AdminTaskView>> {
    const after = cursor ? decodeCursor(cursor) : null;
    const params: unknown[] = [limit + 1];
    const where: string[] = [];
    if (state) where.push(`t.state = $${params.push(state)}`);
    if (after) where.push(`(t.created_at, t.id) < ($${params.push(after.ts)}::timestamptz, $${params.push(after.id)}::uuid)`);
    const rows: { id: string; ts: string; hostname: string }[] = await this.ds.query(
      `SELECT t.id, t.created_at::text AS ts, s.hostname FROM tasks t JOIN servers s ON s.id = t.server_id
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
        return { ...taskView(t), hostname: r.hostname, tenantId: t.tenantId, nodeId: t.nodeId };
      }),
      nextCursor: rows.length > limit && last ? encodeCursor(last.ts, last.id) : null,
    };
  }
}
