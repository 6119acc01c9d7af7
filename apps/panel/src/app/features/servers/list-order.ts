import { compareServerStates, type ServerView } from '@oblako/contracts';

/**
 * The rows in the API's state order (server-views.service.ts SORT_KEYS.state): lifecycle rank from the
 * contract's SERVER_STATE_ORDER, then oldest first, then id; `desc` reverses all three. The list uses it to
 * move a row whose state a live event changed at once, before the reload that follows confirms it.
 * (Name and creation order never change under a live event, so they need no local sort.)
 */
export function inStateOrder<T extends Pick<ServerView, 'id' | 'state' | 'createdAt'>>(rows: readonly T[], order: 'asc' | 'desc'): T[] {
  const sorted = [...rows].sort((a, b) => compareServerStates(a.state, b.state) || byText(a.createdAt, b.createdAt) || byText(a.id, b.id));
  return order === 'desc' ? sorted.reverse() : sorted;
}

/** ISO times and lower-case uuids compare as plain text the way PostgreSQL compares the timestamps and uuids. */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
