import { RETENTION_MAX, type BackupFrequency, type BackupScheduleView, type RetentionPolicy } from '@oblako/contracts';
import type { components } from '../../core/api/openapi.js';

/** The schedule form as typed (numbers as text, so a half-typed value can be told apart from a wrong one). */
export interface ScheduleDraft {
  enabled: boolean;
  frequency: BackupFrequency;
  weekday: string;
  windowStartHour: string;
  windowHours: string;
  keepLast: string;
  keepDaily: string;
  keepWeekly: string;
  keepMonthly: string;
}

/** The body of `PUT /servers/:id/backup-schedule`, as the API's OpenAPI document types it. */
export type ScheduleBody = components['schemas']['PutBackupScheduleDto'];

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export function scheduleDraftOf(v: BackupScheduleView): ScheduleDraft {
  return {
    enabled: v.enabled, frequency: v.frequency, weekday: String(v.weekday ?? 0), windowStartHour: String(v.windowStartHour), windowHours: String(v.windowHours),
    keepLast: String(v.retention.keepLast), keepDaily: String(v.retention.keepDaily), keepWeekly: String(v.retention.keepWeekly), keepMonthly: String(v.retention.keepMonthly),
  };
}

const LABEL: Record<keyof RetentionPolicy, string> = { keepLast: 'Keep the last', keepDaily: 'Daily backups kept', keepWeekly: 'Weekly backups kept', keepMonthly: 'Monthly backups kept' };

/** The body to PUT, or every problem in words a person can act on (the API checks again). */
export function scheduleBody(d: ScheduleDraft): { body: ScheduleBody } | { problems: string[] } {
  const problems: string[] = [];
  const whole = (text: string, label: string, min: number, max: number): number => {
    const t = text.trim();
    const n = Number(t);
    if (!t || !Number.isInteger(n) || n < min || n > max) problems.push(`${label}: enter a whole number from ${min} to ${max}.`);
    return n;
  };
  const windowStartHour = whole(d.windowStartHour, 'Window start (hour, UTC)', 0, 23);
  const windowHours = whole(d.windowHours, 'Window length (hours)', 1, 23);
  const weekday = d.frequency === 'weekly' ? whole(d.weekday, 'Weekday', 0, 6) : null;
  const retention = {
    keepLast: whole(d.keepLast, LABEL.keepLast, 1, RETENTION_MAX.keepLast),
    keepDaily: whole(d.keepDaily, LABEL.keepDaily, 0, RETENTION_MAX.keepDaily),
    keepWeekly: whole(d.keepWeekly, LABEL.keepWeekly, 0, RETENTION_MAX.keepWeekly),
    keepMonthly: whole(d.keepMonthly, LABEL.keepMonthly, 0, RETENTION_MAX.keepMonthly),
  };
  if (problems.length) return { problems };
  return { body: { enabled: d.enabled, frequency: d.frequency, weekday, windowStartHour, windowHours, retention } };
}

/** "Daily, 02:00–06:00 UTC" / "Sundays, 23:00–02:00 UTC". */
export function windowText(b: Pick<ScheduleBody, 'frequency' | 'weekday' | 'windowStartHour' | 'windowHours'>): string {
  const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  const when = b.frequency === 'weekly' ? `${WEEKDAYS[b.weekday ?? 0]}s` : 'Daily';
  return `${when}, ${hh(b.windowStartHour)}–${hh(b.windowStartHour + b.windowHours)} UTC`;
}
