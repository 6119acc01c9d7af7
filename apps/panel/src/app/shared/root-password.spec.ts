import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootPasswordProblem } from './root-password.js';

test('root password: optional, 8 to 128 characters (counted as characters, not UTF-16 units), no control characters, typed twice the same', () => {
  assert.equal(rootPasswordProblem('', ''), null);
  assert.match(rootPasswordProblem('short', 'short') ?? '', /8 to 128/);
  assert.match(rootPasswordProblem('x'.repeat(129), 'x'.repeat(129)) ?? '', /8 to 128/);
  assert.equal(rootPasswordProblem('😀😀😀😀😀😀😀😀', '😀😀😀😀😀😀😀😀'), null);
  assert.match(rootPasswordProblem('tab\there-long', 'tab\there-long') ?? '', /control characters/);
  assert.match(rootPasswordProblem('long-enough-1', 'long-enough-2') ?? '', /differ/);
  assert.match(rootPasswordProblem('', 'typed-only-here') ?? '', /8 to 128/);
  assert.equal(rootPasswordProblem('long-enough-1', 'long-enough-1'), null);
});
