import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupScheduleView } from '@oblako/contracts';
import { scheduleBody, scheduleDraftOf, windowText } from './backup-schedule-draft.js';

const view: BackupScheduleView = {
  serverId: 's1', enabled: false, frequency: 'daily', weekday: null, windowStartHour: 2, windowHours: 4,
  retention: { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 }, isDefault: true, nextWindowAt: null, lastWindowAt: null, lastError: null,
};

test('a draft of the defaults is a valid body; daily drops the weekday', () => {
  const r = scheduleBody({ ...scheduleDraftOf(view), enabled: true, weekday: '5' });
  assert.ok('body' in r);
  assert.deepEqual(r.body, { enabled: true, frequency: 'daily', weekday: null, windowStartHour: 2, windowHours: 4, retention: { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 } });
  const weekly = scheduleBody({ ...scheduleDraftOf(view), frequency: 'weekly', weekday: '0' });
  assert.ok('body' in weekly && weekly.body.weekday === 0);
});

test('every wrong field is named with its range', () => {
  const r = scheduleBody({ ...scheduleDraftOf(view), windowStartHour: '24', windowHours: '', keepLast: '0', keepDaily: '2.5', keepMonthly: '99' });
  assert.ok('problems' in r);
  assert.deepEqual(r.problems, [
    'Window start (hour, UTC): enter a whole number from 0 to 23.',
    'Window length (hours): enter a whole number from 1 to 23.',
    'Keep the last: enter a whole number from 1 to 30.',
    'Daily backups kept: enter a whole number from 0 to 31.',
    'Monthly backups kept: enter a whole number from 0 to 24.',
  ]);
});

test('the window in words, also past midnight', () => {
  assert.equal(windowText({ frequency: 'daily', weekday: null, windowStartHour: 2, windowHours: 4 }), 'Daily, 02:00–06:00 UTC');
  assert.equal(windowText({ frequency: 'weekly', weekday: 0, windowStartHour: 23, windowHours: 3 }), 'Sundays, 23:00–02:00 UTC');
});
