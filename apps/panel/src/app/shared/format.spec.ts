import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDuration, formatGiB, formatMiB, formatMoney, formatPlanPrice, humanize, percent, plural, blockSizeText } from './format.js';

test('money, sizes and shares read well', () => {
  assert.equal(formatMoney(1250, 'eur'), '€12.50');
  assert.equal(formatMiB(2048), '2 GiB');
  assert.equal(formatMiB(1536), '1.5 GiB');
  assert.equal(formatMiB(512), '512 MiB');
  assert.equal(formatGiB(2048), '2 TiB');
  assert.equal(percent(3, 4), 75);
  assert.equal(percent(5, 0), 0);
  assert.equal(percent(9, 4), 100);
  assert.equal(plural(1, 'server'), '1 server');
  assert.equal(humanize('pending_payment'), 'pending payment');
});

test('random ids are 32 hex characters and differ', async () => {
  const { randomId } = await import('./format.js');
  const a = randomId();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, randomId());
});

test('block sizes are exact for IPv4 and named for large IPv6 blocks, never the largest safe integer', () => {
  assert.equal(blockSizeText('203.0.113.0/28'), '16');
  assert.equal(blockSizeText('2001:db8::/64'), 'a /64 (2^64)');
  assert.equal(blockSizeText('2001:db8::/120'), '256');
  assert.doesNotMatch(blockSizeText('2001:db8::/48'), /9007199254740991/);
});

test('formatPlanPrice: the unit follows the plan (per hour for a plan billed by the hour)', () => {
  assert.equal(formatPlanPrice({ priceMonthlyCents: 500, priceHourlyCents: null, currency: 'EUR' }), '€5.00 per month');
  assert.equal(formatPlanPrice({ priceMonthlyCents: 5110, priceHourlyCents: 7, currency: 'EUR' }), '€0.07 per hour');
});

test('backup sizes and durations read well', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(123456789), '118 MiB');
  assert.equal(formatBytes(1024 ** 3), '1.0 GiB');
  assert.equal(formatDuration(null), '—');
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(4321), '4 s');
  assert.equal(formatDuration(185_000), '3 min 5 s');
  assert.equal(formatDuration(120_000), '2 min');
  assert.equal(formatDuration(4_320_000), '1 h 12 min');
});
