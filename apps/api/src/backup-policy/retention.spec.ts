import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RetentionPolicy } from '@oblako/contracts';
import { backupsToPrune, FAILED_BACKUP_KEEP_DAYS, isoWeekKey, type PrunableBackup } from './retention.js';

const NOW = new Date('2026-12-03T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;
const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, ...p });
const b = (id: string, at: string | number | Date, over: Partial<PrunableBackup> = {}): PrunableBackup => ({ id, state: 'ready', createdAt: new Date(at), parentId: null, ...over });
const ids = (list: PrunableBackup[]) => list.map((x) => x.id);
/** One ready backup a day at 03:00 UTC, `n` days back from NOW, named d0 (today) .. d<n-1>. */
const daily = (n: number) => Array.from({ length: n }, (_, i) => b(`d${i}`, new Date(Date.UTC(2026, 11, 3 - i, 3))));

test('ISO weeks: Monday first, the year of the Thursday', () => {
  assert.equal(isoWeekKey(new Date('2026-12-03T00:00:00Z')), '2026-W49');
  assert.equal(isoWeekKey(new Date('2026-12-27T23:59:59Z')), '2026-W52', 'a Sunday ends its week');
  assert.equal(isoWeekKey(new Date('2026-12-28T00:00:00Z')), '2026-W53');
  assert.equal(isoWeekKey(new Date('2027-01-01T00:00:00Z')), '2026-W53', '1 January 2027 (a Friday) is in 2026\'s last week');
  assert.equal(isoWeekKey(new Date('2027-01-04T00:00:00Z')), '2027-W01');
  assert.equal(isoWeekKey(new Date('2024-12-30T00:00:00Z')), '2025-W01', '30 December 2024 (a Monday) opens 2025\'s first week');
});

test('keep-last keeps the newest N and prunes the rest, newest first; input order does not matter', () => {
  const all = daily(10);
  const pruned = backupsToPrune([...all].reverse(), policy({ keepLast: 3 }), NOW);
  assert.deepEqual(ids(pruned), ['d3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9']);
  assert.deepEqual(ids(backupsToPrune(all, policy({ keepLast: 10 }), NOW)), []);
  assert.deepEqual(ids(backupsToPrune(all, policy({ keepLast: 30 }), NOW)), [], 'more than there are');
});

test('keep-daily keeps the newest backup of each of the last N days that have one (UTC days)', () => {
  const list = [
    b('mon-late', '2026-11-30T23:30:00Z'), b('mon-early', '2026-11-30T01:00:00Z'),
    b('tue-late', '2026-12-01T22:00:00Z'), b('tue-early', '2026-12-01T02:00:00Z'),
    // no backup on Wednesday: a day without one does not use up a bucket
    b('thu', '2026-12-03T03:00:00Z'),
    b('old', '2026-11-20T03:00:00Z'),
  ];
  assert.deepEqual(ids(backupsToPrune(list, policy({ keepDaily: 3 }), NOW)), ['tue-early', 'mon-early', 'old']);
  assert.deepEqual(ids(backupsToPrune(list, policy({ keepDaily: 1 }), NOW)), ['tue-late', 'tue-early', 'mon-late', 'mon-early', 'old']);
  // 23:30 UTC on Monday is Monday, whatever the server's local time is
  const edge = [b('a', '2026-12-01T00:00:00Z'), b('z', '2026-11-30T23:59:59Z')];
  assert.deepEqual(ids(backupsToPrune(edge, policy({ keepDaily: 2 }), NOW)), []);
});

test('keep-weekly and keep-monthly keep the newest of each ISO week and calendar month', () => {
  const all = daily(70); // 3 December back to 25 September
  const weekly = backupsToPrune(all, policy({ keepWeekly: 3 }), NOW);
  const keptWeekly = all.filter((x) => !ids(weekly).includes(x.id)).map((x) => x.createdAt.toISOString().slice(0, 10));
  // the newest of the weeks of 3 December (Thu), of 23-29 November and of 16-22 November
  assert.deepEqual(keptWeekly, ['2026-12-03', '2026-11-29', '2026-11-22']);
  const monthly = backupsToPrune(all, policy({ keepMonthly: 4 }), NOW);
  const keptMonthly = all.filter((x) => !ids(monthly).includes(x.id)).map((x) => x.createdAt.toISOString().slice(0, 10));
  assert.deepEqual(keptMonthly, ['2026-12-03', '2026-11-30', '2026-10-31', '2026-09-30']);
  // across a year's end: 2026-W53 holds 28 Dec 2026 to 3 Jan 2027
  const yearEnd = [b('jan3', '2027-01-03T03:00:00Z'), b('dec28', '2026-12-28T03:00:00Z'), b('dec27', '2026-12-27T03:00:00Z')];
  assert.deepEqual(ids(backupsToPrune(yearEnd, policy({ keepWeekly: 2 }), new Date('2027-01-03T12:00:00Z'))), ['dec28']);
});

test('the buckets add up: a backup kept by any rule is kept', () => {
  const all = daily(70);
  const pruned = new Set(ids(backupsToPrune(all, policy({ keepLast: 2, keepDaily: 5, keepWeekly: 3, keepMonthly: 3 }), NOW)));
  const kept = all.filter((x) => !pruned.has(x.id)).map((x) => x.id);
  // last 2 (d0 d1) ⊂ daily 5 (d0-d4); weekly: d0, 29 Nov (d4), 22 Nov (d11); monthly: d0, 30 Nov (d3), 31 Oct (d33)
  assert.deepEqual(kept, ['d0', 'd1', 'd2', 'd3', 'd4', 'd11', 'd33']);
});

test('never prunes the only ready backup, nor the newest, whatever the policy says', () => {
  assert.deepEqual(ids(backupsToPrune([b('only', '2025-01-01T00:00:00Z')], policy({}), NOW)), []);
  const withFailed = [b('f1', NOW.getTime() - H, { state: 'failed' }), b('only', '2025-01-01T00:00:00Z')];
  assert.deepEqual(ids(backupsToPrune(withFailed, policy({}), NOW)), [], 'a newer failed backup does not make the ready one expendable');
  assert.deepEqual(ids(backupsToPrune(daily(4), policy({}), NOW)), ['d1', 'd2', 'd3']);
});

test('never prunes a chain parent whose child is kept, nor the chain under a backup still being made', () => {
  // full f0 <- i1 <- i2 (newest); a second chain f3 <- i4, older
  const list = [
    b('i2', NOW.getTime() - 1 * H, { parentId: 'i1' }), b('i1', NOW.getTime() - 2 * H, { parentId: 'f0' }), b('f0', NOW.getTime() - 3 * H),
    b('i4', NOW.getTime() - 4 * H, { parentId: 'f3' }), b('f3', NOW.getTime() - 5 * H),
  ];
  assert.deepEqual(ids(backupsToPrune(list, policy({ keepLast: 1 }), NOW)), ['i4', 'f3'], 'i2 is kept, so i1 and f0 are too; children before parents');
  // keeping the older chain's child keeps its full backup although it falls outside keep-last
  const withDaily = backupsToPrune([...list, b('older', NOW.getTime() - 3 * D)], policy({ keepLast: 4 }), NOW);
  assert.deepEqual(ids(withDaily), ['older'], 'the 4 newest are i2 i1 f0 i4; f3 is i4\'s parent');
  // an incremental being made holds its parent (and the parent's parent) although the policy would let them go
  const making = [b('new', NOW.getTime() - 60_000, { state: 'creating', parentId: 'i1' }), ...list];
  assert.deepEqual(ids(backupsToPrune(making, policy({ keepLast: 0 }), NOW)), ['i4', 'f3'], 'i2 (newest ready) kept, i1 <- f0 held by the one being made');
  // a cycle in bad data does not hang
  const cyc = [b('x', NOW.getTime() - H, { parentId: 'y' }), b('y', NOW.getTime() - 2 * H, { parentId: 'x' })];
  assert.deepEqual(ids(backupsToPrune(cyc, policy({ keepLast: 1 }), NOW)), []);
});

test('backups being made or deleted are never returned; failed ones go after their reason has been kept a while', () => {
  const list = [
    b('c', NOW.getTime() - H, { state: 'creating' }), b('del', NOW.getTime() - 40 * D, { state: 'deleting' }),
    b('fNew', NOW.getTime() - 2 * D, { state: 'failed' }), b('fOld', NOW.getTime() - (FAILED_BACKUP_KEEP_DAYS + 1) * D, { state: 'failed' }),
    b('r', NOW.getTime() - 30 * D),
  ];
  assert.deepEqual(ids(backupsToPrune(list, policy({}), NOW)), ['fOld']);
});

test('property: over random histories, the newest ready and every ancestor of a kept backup survive; only ready and old failed ones go', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let run = 0; run < 300; run++) {
    const n = 1 + Math.floor(rnd() * 40);
    const list: PrunableBackup[] = [];
    for (let i = 0; i < n; i++) {
      const r = rnd();
      const state = r < 0.75 ? 'ready' : r < 0.85 ? 'failed' : r < 0.93 ? 'creating' : 'deleting';
      const parents = list.filter((x) => x.state === 'ready');
      const parentId = state !== 'failed' && parents.length && rnd() < 0.5 ? parents[Math.floor(rnd() * parents.length)]!.id : null;
      list.push(b(`b${i}`, NOW.getTime() - Math.floor(rnd() * 200 * D), { state, parentId }));
    }
    const p = policy({ keepLast: Math.floor(rnd() * 4), keepDaily: Math.floor(rnd() * 8), keepWeekly: Math.floor(rnd() * 5), keepMonthly: Math.floor(rnd() * 4) });
    const pruned = backupsToPrune(list, p, NOW);
    const gone = new Set(ids(pruned));
    const ready = list.filter((x) => x.state === 'ready').sort((a, c) => c.createdAt.getTime() - a.createdAt.getTime());
    if (ready[0]) assert.ok(!gone.has(ready[0].id), `run ${run}: the newest ready backup is kept`);
    for (const x of pruned) assert.ok(x.state === 'ready' || x.state === 'failed', `run ${run}: ${x.id} is ${x.state}`);
    for (const x of list) {
      if (gone.has(x.id) || x.state === 'failed' || x.state === 'deleting') continue;
      if (x.parentId) assert.ok(!gone.has(x.parentId), `run ${run}: ${x.id} is kept but its parent ${x.parentId} would go`);
    }
    const keptReady = ready.filter((x) => !gone.has(x.id)).length;
    assert.ok(keptReady >= Math.min(ready.length, Math.max(1, p.keepLast)), `run ${run}: at least keep-last (and one) ready backups stay`);
  }
});
