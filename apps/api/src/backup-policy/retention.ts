import type { RetentionPolicy } from '@oblako/contracts';

/** What pruning needs to know of one backup. */
export interface PrunableBackup {
  id: string;
  state: 'creating' | 'ready' | 'failed' | 'deleting';
  createdAt: Date;
  /** The backup an incremental one builds on (null for a full one). */
  parentId: string | null;
}

/** A failed backup's row (its reason) is kept this long for the customer and staff to read, then pruned. */
export const FAILED_BACKUP_KEEP_DAYS = 14;

const DAY = 86_400_000;
const pad = (n: number) => String(n).padStart(2, '0');
const dayKey = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
const monthKey = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
/** ISO 8601 week (Monday first; the week belongs to the year of its Thursday), in UTC. */
export function isoWeekKey(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const dow = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - dow);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / DAY + 1) / 7);
  return `${t.getUTCFullYear()}-W${pad(week)}`;
}

/**
 * Which backups a retention policy lets go (GFS, as restic and borg count): of the server's ready backups it keeps
 * the newest `keepLast`, and the newest one in each of the newest `keepDaily` days (UTC), `keepWeekly` ISO weeks and
 * `keepMonthly` months that have a backup. On top of the policy it always keeps:
 * - the newest ready backup (a server is never left without one, whatever the policy says);
 * - every ancestor of a kept backup, and of one still being made (an incremental backup needs its chain to restore);
 * - backups that are not ready (being made, or already being deleted).
 * Failed backups hold nothing restorable; their rows go after {@link FAILED_BACKUP_KEEP_DAYS}.
 * Answers the backups to remove, newest first (a chain's children before its parents). Pure: no clock, no I/O.
 */
export function backupsToPrune<T extends PrunableBackup>(backups: readonly T[], policy: RetentionPolicy, now: Date): T[] {
  const byId = new Map(backups.map((b) => [b.id, b]));
  const newestFirst = [...backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
  const ready = newestFirst.filter((b) => b.state === 'ready');
  const keep = new Set<string>();

  ready.slice(0, Math.max(0, policy.keepLast)).forEach((b) => keep.add(b.id));
  if (ready[0]) keep.add(ready[0].id);
  const buckets = (count: number, key: (d: Date) => string) => {
    const seen = new Set<string>();
    for (const b of ready) {
      if (seen.size >= count) break;
      const k = key(b.createdAt);
      if (seen.has(k)) continue;
      seen.add(k);
      keep.add(b.id);
    }
  };
  buckets(policy.keepDaily, dayKey);
  buckets(policy.keepWeekly, isoWeekKey);
  buckets(policy.keepMonthly, monthKey);

  // a chain stays whole under whatever is kept or still being made
  const anchors = [...keep, ...backups.filter((b) => b.state === 'creating').map((b) => b.id)];
  for (const id of anchors) {
    let parent = byId.get(id)?.parentId ?? null;
    const walked = new Set<string>();
    while (parent && !walked.has(parent)) {
      walked.add(parent);
      keep.add(parent);
      parent = byId.get(parent)?.parentId ?? null;
    }
  }

  const failedBefore = now.getTime() - FAILED_BACKUP_KEEP_DAYS * DAY;
  return newestFirst.filter((b) => {
    if (keep.has(b.id)) return false;
    if (b.state === 'ready') return true;
    return b.state === 'failed' && b.createdAt.getTime() < failedBefore;
  });
}
