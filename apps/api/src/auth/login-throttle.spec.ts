import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle } from './login-throttle.js';

test('refuses after too many failures within the window, and forgives after it', () => {
  let now = 1_000_000;
  const t = new LoginThrottle(3, 60_000, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(t.retryAfterMs('k'), 0);
    t.fail('k');
    now += 1000;
  }
  assert.equal(t.retryAfterMs('k'), 57_000);
  assert.equal(t.retryAfterMs('other'), 0);
  now += 57_000;
  assert.equal(t.retryAfterMs('k'), 0);
});

test('a success clears the failures', () => {
  const t = new LoginThrottle(2, 60_000);
  t.fail('k');
  t.fail('k');
  assert.ok(t.retryAfterMs('k') > 0);
  t.succeed('k');
  assert.equal(t.retryAfterMs('k'), 0);
});
