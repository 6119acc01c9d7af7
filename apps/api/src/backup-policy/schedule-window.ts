import type { BackupFrequency } from '@oblako/contracts';

export interface ScheduleTimes {
  frequency: BackupFrequency;
  /** 0 = Sunday ... 6 = Saturday (UTC); used when weekly. */
  weekday: number | null;
  windowStartHour: number;
  windowHours: number;
}

const DAY = 86_400_000;

function opensOn(s: ScheduleTimes, start: Date): boolean {
  return s.frequency === 'daily' || start.getUTCDay() === s.weekday;
}

/** Window starts (at the schedule's hour, UTC) from `fromDay` days before `now`'s date to `toDay` days after it. */
function starts(s: ScheduleTimes, now: Date, fromDay: number, toDay: number): Date[] {
  const out: Date[] = [];
  for (let d = fromDay; d <= toDay; d++) {
    const c = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + d, s.windowStartHour));
    if (opensOn(s, c)) out.push(c);
  }
  return out;
}

/** The start of the schedule's window that `now` lies in (a window may run past midnight), or null outside one. */
export function windowAt(s: ScheduleTimes, now: Date): Date | null {
  for (const c of starts(s, now, -1, 0)) {
    if (c.getTime() <= now.getTime() && now.getTime() < c.getTime() + s.windowHours * 3_600_000) return c;
  }
  return null;
}

/**
 * When the next backup is due: the current window when `now` is inside one not used yet (`lastWindowAt` is an
 * older window), otherwise the next window to open.
 */
export function nextWindowAt(s: ScheduleTimes, now: Date, lastWindowAt: Date | null): Date {
  const current = windowAt(s, now);
  if (current && (!lastWindowAt || lastWindowAt.getTime() < current.getTime())) return current;
  const next = starts(s, now, 0, 8).find((c) => c.getTime() > now.getTime());
  return next ?? new Date(now.getTime() + 7 * DAY); // unreachable: a weekday recurs within 8 days
}
