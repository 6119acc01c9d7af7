import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSshPublicKey, SshKeyFormatError } from './ssh-public-key.js';
import { SSH_KEYS } from '../../test/support/ssh-key-fixtures.js';

test('accepts ed25519, RSA >= 2048 and the three ECDSA curves with ssh-keygen fingerprints', () => {
  const cases = [
    [SSH_KEYS.ed25519, 'ssh-ed25519', 256],
    [SSH_KEYS.rsab2048, 'ssh-rsa', 2048],
    [SSH_KEYS.ecdsab256, 'ecdsa-sha2-nistp256', 256],
    [SSH_KEYS.ecdsab384, 'ecdsa-sha2-nistp384', 384],
    [SSH_KEYS.ecdsab521, 'ecdsa-sha2-nistp521', 521],
  ] as const;
  for (const [key, type, bits] of cases) {
    const parsed = parseSshPublicKey(`  ${key.line}\n`);
    assert.equal(parsed.type, type);
    assert.equal(parsed.bits, bits);
    assert.equal(parsed.fingerprint, key.fingerprint);
  }
});

test('refuses short RSA keys, garbage, truncation, mismatched types and private keys', () => {
  const refuse = (line: string, pattern: RegExp) =>
    assert.throws(() => parseSshPublicKey(line), (e: Error) => e instanceof SshKeyFormatError && pattern.test(e.message), line.slice(0, 40));
  refuse(SSH_KEYS.rsab1024.line, /1024 bits; at least 2048/);
  refuse('hello world', /not supported/);
  refuse('ssh-ed25519', /whole line/);
  refuse('ssh-ed25519 !!!notbase64', /base64/);
  const [, data] = SSH_KEYS.ed25519.line.split(' ') as [string, string];
  const blob = Buffer.from(data, 'base64');
  refuse(`ssh-ed25519 ${blob.subarray(0, blob.length - 5).toString('base64')}`, /truncated/);
  refuse(`ssh-rsa ${data}`, /its data is a "ssh-ed25519" key/);
  refuse(`ssh-ed25519 ${Buffer.concat([blob, Buffer.from([0])]).toString('base64')}`, /extra bytes/);
  refuse('-----BEGIN OPENSSH PRIVATE KEY----- abc', /private key/);
  // An ECDSA point that is not on the curve.
  const [, ec] = SSH_KEYS.ecdsab256.line.split(' ') as [string, string];
  const bad = Buffer.from(ec, 'base64');
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
  refuse(`ecdsa-sha2-nistp256 ${bad.toString('base64')}`, /not a valid public key/);
});
