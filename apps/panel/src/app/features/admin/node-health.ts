/** How staff read a node's heartbeat. Pure: unit-tested with node:test. */
import type { NodeView } from '@oblako/contracts';

/** "12 s ago", "4 min ago", "3 h ago", "never". */
export function heartbeatAge(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'unknown';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** Nodes that were registered and are offline now: the ones staff must hear about. */
export function offlineNodes(nodes: readonly NodeView[]): NodeView[] {
  return nodes.filter((n) => n.state === 'offline');
}
