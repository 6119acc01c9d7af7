import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateRootPassword, rootPasswordProblem, rootPasswordStrength } from './root-password.js';

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

test('root password: the panel accepts exactly what the API pattern accepts', () => {
  // the API's ROOT_PASSWORD_PATTERN (apps/api/src/servers/root-password.ts), copied here as the reference
  const api = /^[^\p{Cc}]{8,128}$/u;
  for (const p of ['1234567', '12345678', 'x'.repeat(128), 'x'.repeat(129), 'with space ok', 'del\u007fchar', 'nl\nline-long', '😀'.repeat(8), '😀'.repeat(129), 'ünïcödé-pässwörd']) {
    assert.equal(rootPasswordProblem(p, p) === null, api.test(p), p);
  }
});

test('root password strength is a hint: length, kinds of character, repetition', () => {
  assert.equal(rootPasswordStrength(''), null);
  assert.equal(rootPasswordStrength('password'), 'weak');
  assert.equal(rootPasswordStrength('aaaaaaaaaaaaaaaaaaaa'), 'weak');
  assert.equal(rootPasswordStrength('abcdefghijk'), 'weak');
  assert.equal(rootPasswordStrength('abcdefgh12'), 'fair');
  assert.equal(rootPasswordStrength('Correct-Horse-9'), 'strong');
  assert.equal(rootPasswordStrength('correct horse battery 7'), 'strong');
});

test('a generated root password: the length asked, the panel\'s alphabet, accepted by the rule, strong, different each time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const p = generateRootPassword();
    assert.equal(p.length, 20);
    assert.match(p, /^[a-km-zA-HJ-NP-Z2-9\-_.+=]{20}$/);
    assert.equal(rootPasswordProblem(p, p), null);
    seen.add(p);
  }
  assert.equal(seen.size, 200);
  assert.equal(rootPasswordStrength(generateRootPassword()), 'strong');
  // bytes at or above the rejection limit (256 - 256 % 62 = 248) are skipped, not folded onto the first letters
  let call = 0;
  const p = generateRootPassword(4, (a) => (call++ === 0 ? a.fill(250) : a.fill(1)));
  assert.equal(p, 'bbbb');
  assert.equal(call, 2);
});
