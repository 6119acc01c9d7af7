import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cryptSalt, hashPassword, sha512Crypt, verifyPassword } from './sha512-crypt.js';

// The test vectors of Drepper's specification, which glibc's crypt(3) passes (crypt/sha512c-test.c).
const VECTORS: [setting: string, password: string, expected: string][] = [
  ['$6$saltstring', 'Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['$6$rounds=10000$saltstringsaltstring', 'Hello world!', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
  ['$6$rounds=5000$toolongsaltstring', 'This is just a test', '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0'],
  ['$6$rounds=1400$anotherlongsaltstring', 'a very much longer text to encrypt.  This one even stretches over morethan one line.', '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1'],
  ['$6$rounds=77777$short', 'we have a short salt string but not a short password', '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0'],
  ['$6$rounds=123456$asaltof16chars..', 'a short string', '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1'],
  ['$6$rounds=10$roundstoolow', 'the minimum number is still observed', '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
];

test('SHA-512 crypt gives glibc\'s answers for the specification\'s vectors (salt cut to 16, rounds clamped)', () => {
  for (const [setting, password, expected] of VECTORS) assert.equal(sha512Crypt(password, setting), expected, setting);
});

test('a hash made here is the one openssl passwd -6 makes from the same salt, and the other way round', (t) => {
  try {
    execFileSync('openssl', ['version']);
  } catch {
    t.skip('openssl is not installed');
    return;
  }
  for (const password of ['correct horse battery', 'ünïcödé pässwörd', "quote ' and $dollar", 'x']) {
    const salt = cryptSalt();
    const theirs = execFileSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: password + '\n', encoding: 'utf8' }).trim();
    assert.equal(sha512Crypt(password, `$6$${salt}`), theirs, password);
    const ours = hashPassword(password);
    const oursSalt = ours.split('$')[2]!;
    assert.equal(execFileSync('openssl', ['passwd', '-6', '-salt', oursSalt, '-stdin'], { input: password + '\n', encoding: 'utf8' }).trim(), ours);
  }
});

test('salts are 16 characters of the crypt alphabet and differ every time; a hash verifies only its own password', () => {
  const salts = new Set(Array.from({ length: 200 }, () => cryptSalt()));
  assert.equal(salts.size, 200);
  for (const s of salts) assert.match(s, /^[./0-9A-Za-z]{16}$/);
  const h = hashPassword('s3cret-pass');
  assert.match(h, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  assert.notEqual(hashPassword('s3cret-pass'), h);
  assert.equal(verifyPassword('s3cret-pass', h), true);
  assert.equal(verifyPassword('s3cret-pasS', h), false);
});
