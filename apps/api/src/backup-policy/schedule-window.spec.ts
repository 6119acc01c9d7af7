import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextWindowAt, windowAt, type ScheduleTimes } from './schedule-window.js';

const at = (iso: string) => new Date(iso);
const daily = (windowStartHour: number, windowHours: number): ScheduleTimes => ({ frequency: 'daily', weekday: null, windowStartHour, windowHours });

test('a daily window: inside from its hour for its length, outside otherwise', () => {
  const s = daily(2, 4);
  assert.equal(windowAt(s, at('2026-12-03T01:59:59Z')), null);
  assert.equal(windowAt(s, at('2026-12-03T02:00:00Z'))?.toISOString(), '2026-12-03T02:00:00.000Z');
  assert.equal(windowAt(s, at('2026-12-03T05:59:59Z'))?.toISOString(), '2026-12-03T02:00:00.000Z');
  assert.equal(windowAt(s, at('2026-12-03T06:00:00Z')), null);
});

test('a window that runs past midnight belongs to the day it opened', () => {
  const s = daily(22, 4);
  assert.equal(windowAt(s, at('2026-12-03T23:30:00Z'))?.toISOString(), '2026-12-03T22:00:00.000Z');
  assert.equal(windowAt(s, at('2026-12-04T01:30:00Z'))?.toISOString(), '2026-12-03T22:00:00.000Z');
  assert.equal(windowAt(s, at('2026-12-04T02:00:00Z')), null);
  // across a month's and a year's end
  assert.equal(windowAt(s, at('2027-01-01T00:10:00Z'))?.toISOString(), '2026-12-31T22:00:00.000Z');
});

test('a weekly window opens only on its weekday (UTC), also when it runs into the next day', () => {
  const s: ScheduleTimes = { frequency: 'weekly', weekday: 0, windowStartHour: 23, windowHours: 3 }; // Sundays 23:00-02:00
  assert.equal(windowAt(s, at('2026-12-06T23:15:00Z'))?.toISOString(), '2026-12-06T23:00:00.000Z', '6 December 2026 is a Sunday');
  assert.equal(windowAt(s, at('2026-12-07T01:15:00Z'))?.toISOString(), '2026-12-06T23:00:00.000Z', 'Monday 01:15 is still Sunday\'s window');
  assert.equal(windowAt(s, at('2026-12-05T23:15:00Z')), null, 'not on Saturday');
  assert.equal(windowAt(s, at('2026-12-07T23:15:00Z')), null, 'not on Monday');
});

test('the next window: the current one until it is used, then the next to open', () => {
  const s = daily(2, 4);
  assert.equal(nextWindowAt(s, at('2026-12-03T01:00:00Z'), null).toISOString(), '2026-12-03T02:00:00.000Z');
  assert.equal(nextWindowAt(s, at('2026-12-03T03:00:00Z'), null).toISOString(), '2026-12-03T02:00:00.000Z', 'inside, not used yet');
  assert.equal(nextWindowAt(s, at('2026-12-03T03:00:00Z'), at('2026-12-03T02:00:00Z')).toISOString(), '2026-12-04T02:00:00.000Z', 'used: tomorrow');
  assert.equal(nextWindowAt(s, at('2026-12-03T03:00:00Z'), at('2026-12-02T02:00:00Z')).toISOString(), '2026-12-03T02:00:00.000Z', 'yesterday\'s was used, today\'s not');
  const weekly: ScheduleTimes = { frequency: 'weekly', weekday: 3, windowStartHour: 4, windowHours: 2 }; // Wednesdays 04:00
  assert.equal(nextWindowAt(weekly, at('2026-12-03T12:00:00Z'), null).toISOString(), '2026-12-09T04:00:00.000Z', 'Thursday: next Wednesday');
  assert.equal(nextWindowAt(weekly, at('2026-12-02T03:00:00Z'), null).toISOString(), '2026-12-02T04:00:00.000Z', 'Wednesday before the hour: today');
});
