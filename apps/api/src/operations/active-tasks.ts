import { ACTIVE_TASK_STATES } from '@oblako/contracts';
import type { EntityManager } from 'typeorm';

/** The SQL list of active task states, from the contract's one list (`state IN ${ACTIVE_TASKS_SQL}`). */
export const ACTIVE_TASKS_SQL = `(${ACTIVE_TASK_STATES.map((s) => `'${s}'`).join(', ')})`;

/** Whether a task of this server is still queued, dispatched or running. */
export async function hasActiveTask(m: EntityManager, serverId: string): Promise<boolean> {
  const rows: unknown[] = await m.query(`SELECT 1 FROM tasks WHERE server_id = $1 AND state IN ${ACTIVE_TASKS_SQL} LIMIT 1`, [serverId]);
  return rows.length > 0;
}
