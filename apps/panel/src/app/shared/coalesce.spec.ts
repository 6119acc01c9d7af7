import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesce } from './coalesce.js';

test('calls during a run cause exactly one more run, never a lost one', async () => {
  let runs = 0;
  let seen = 0;
  let latest = 0;
  const reload = coalesce(async () => {
    runs += 1;
    const snapshot = latest;
    await new Promise((r) => setTimeout(r, 10));
    seen = snapshot;
  });
  latest = 1;
  const a = reload();
  latest = 2;
  void reload();
  latest = 3;
  void reload();
  await a;
  await reload();
  assert.equal(seen, 3);
  assert.ok(runs >= 2 && runs <= 3, `ran ${runs} times`);
});

test('a failing run does not block later ones', async () => {
  let n = 0;
  const reload = coalesce(async () => {
    n += 1;
    if (n === 1) throw new Error('offline');
  });
  await reload();
  await reload();
  assert.equal(n, 2);
});
