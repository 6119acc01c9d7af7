import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBitsPerSecond, formatBytesPerSecond, formatIops, formatPercent, formatPointTime, summarize, type UsagePointLike } from './usage-format.js';

test('rates read in decimal units with their unit; a gap is a dash, not zero', () => {
  assert.equal(formatBitsPerSecond(1_000_000), '1 Mbit/s');
  assert.equal(formatBitsPerSecond(1_234_567), '1.23 Mbit/s');
  assert.equal(formatBitsPerSecond(950), '950 bit/s');
  assert.equal(formatBitsPerSecond(12_500_000_000), '12.5 Gbit/s');
  assert.equal(formatBitsPerSecond(0), '0 bit/s');
  assert.equal(formatBitsPerSecond(null), '—');
  assert.equal(formatBytesPerSecond(100_000), '100 kB/s');
  assert.equal(formatBytesPerSecond(1_500_000), '1.5 MB/s');
  assert.equal(formatIops(5), '5 IOPS');
  assert.equal(formatIops(12.34), '12.3 IOPS');
  assert.equal(formatIops(1500), '1.5k IOPS');
  assert.equal(formatPercent(50), '50 %');
  assert.equal(formatPercent(2.345), '2.3 %');
  assert.equal(formatPercent(null), '—');
});

test('point times: clock for short ranges, date for long ones', () => {
  assert.equal(formatPointTime('2026-12-03T14:05:00Z', '1h', 'en', 'UTC'), '14:05');
  assert.match(formatPointTime('2026-12-03T14:00:00Z', '30d', 'en', 'UTC'), /Dec 3.*14:00/);
});

test('the summary counts the points with data and the gaps between them', () => {
  const p = (seconds: number, v: number | null): UsagePointLike => ({
    t: '2026-12-03T00:00:00Z', seconds, cpuPercent: v, netInBps: v, netOutBps: v, diskReadBps: v, diskWriteBps: v, diskReadIops: v, diskWriteIops: v,
  });
  const points = [p(0, null), p(60, 10), p(60, 40), p(0, null), p(0, null), p(60, 20), p(0, null)];
  const s = summarize(points, 'CPU', (x) => x.cpuPercent, formatPercent);
  assert.equal(s.metered, 3);
  assert.equal(s.gaps, 2);
  assert.equal(s.text, 'CPU: latest 20 %, peak 40 %; 3 of 7 points have data, 2 gaps.');
  assert.equal(summarize([p(0, null)], 'CPU', (x) => x.cpuPercent, formatPercent).text, 'CPU: no data in this range.');
});
