import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressAt, assignableRange, CidrError, contains, formatIp, offsetOf, overlaps, parseCidr, parseIp } from './cidr.js';

test('IPv4 blocks: size, range, addresses by offset', () => {
  const c = parseCidr('192.0.2.0/24');
  assert.equal(c.size, 256n);
  assert.deepEqual(assignableRange(c), { first: 1n, last: 254n });
  assert.equal(addressAt(c, 10n), '192.0.2.10');
  assert.equal(offsetOf(c, parseIp('192.0.2.200')), 200n);
  assert.deepEqual(assignableRange(parseCidr('192.0.2.8/31')), { first: 0n, last: 1n });
});

test('host bits set are refused with the block they meant', () => {
  assert.throws(() => parseCidr('192.0.2.5/24'), (e: Error) => e instanceof CidrError && /192\.0\.2\.0\/24/.test(e.message));
  assert.throws(() => parseCidr('192.0.2.0/33'), CidrError);
  assert.throws(() => parseCidr('300.0.0.0/8'), CidrError);
  assert.throws(() => parseCidr('10.0.0.0'), CidrError);
});

test('IPv6 parsing and RFC 5952 formatting', () => {
  assert.equal(formatIp(6, parseIp('2001:0db8:0000:0000:0000:0000:0000:0001').value), '2001:db8::1');
  assert.equal(formatIp(6, parseIp('::').value), '::');
  assert.equal(formatIp(6, parseIp('2001:db8:0:1:0:0:0:1').value), '2001:db8:0:1::1');
  assert.equal(formatIp(6, parseIp('::ffff:192.0.2.1').value), '::ffff:c000:201');
  const c = parseCidr('2001:db8::/64');
  assert.equal(c.size, 1n << 64n);
  assert.equal(addressAt(c, 5n), '2001:db8::5');
  assert.throws(() => parseIp('2001:db8::1::2'), CidrError);
  assert.throws(() => parseIp('1:2:3:4:5:6:7'), CidrError);
});

test('overlap and containment', () => {
  assert.equal(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.1.0.0/16')), true);
  assert.equal(overlaps(parseCidr('10.0.0.0/24'), parseCidr('10.0.1.0/24')), false);
  assert.equal(overlaps(parseCidr('10.0.0.0/24'), parseCidr('2001:db8::/64')), false);
  assert.equal(contains(parseCidr('10.0.0.0/24'), parseIp('10.0.0.1')), true);
  assert.equal(contains(parseCidr('10.0.0.0/24'), parseIp('10.0.1.1')), false);
});
