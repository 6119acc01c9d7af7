import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusedAddress, vetWebhookUrl } from './ssrf.js';
import { signatureHeader, verifySignature } from './signing.js';

test('private, loopback, link-local, CGNAT, multicast and reserved addresses are refused; public ones pass', () => {
  for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1', '2001:db8::1']) {
    assert.ok(refusedAddress(a, false), `${a} must be refused`);
  }
  for (const a of ['93.184.216.34', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(refusedAddress(a, false), null, `${a} is public`);
  // Development mode admits loopback only, nothing else private.
  assert.equal(refusedAddress('127.0.0.1', true), null);
  assert.equal(refusedAddress('::1', true), null);
  assert.ok(refusedAddress('10.0.0.1', true));
});

test('URLs: https only (http for localhost in development), no credentials, names resolved and every answer checked', async () => {
  const dns = (answers: Record<string, string[]>) => async (h: string) => (answers[h] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const pub = dns({ 'hooks.example.com': ['93.184.216.34'], 'mixed.example.com': ['93.184.216.34', '10.0.0.8'], 'localhost': ['127.0.0.1'] });
  const t = await vetWebhookUrl('https://hooks.example.com/x', false, pub);
  assert.equal(t.address, '93.184.216.34');
  await assert.rejects(vetWebhookUrl('http://hooks.example.com/x', false, pub), /https/);
  await assert.rejects(vetWebhookUrl('https://user:pw@hooks.example.com/x', false, pub), /user name or password/);
  await assert.rejects(vetWebhookUrl('https://mixed.example.com/x', false, pub), /10\.0\.0\.8/);
  await assert.rejects(vetWebhookUrl('https://nowhere.example.com/x', false, pub), /does not resolve/);
  await assert.rejects(vetWebhookUrl('http://localhost:8080/x', false, pub), /https/);
  assert.equal((await vetWebhookUrl('http://localhost:8080/x', true, pub)).address, '127.0.0.1');
  await assert.rejects(vetWebhookUrl('http://10.0.0.1/x', true, pub), /https/);
  await assert.rejects(vetWebhookUrl('not a url', false, pub), /absolute URL/);
});

test('signatures: HMAC-SHA256 over "<t>.<body>", one v1 per secret, refused when stale or changed', () => {
  const now = 1_800_000_000;
  const h = signatureHeader(['whsec_new', 'whsec_old'], now, '{"a":1}');
  assert.match(h, /^t=1800000000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  assert.equal(verifySignature(h, '{"a":1}', 'whsec_old', 300, now), true);
  assert.equal(verifySignature(h, '{"a":1}', 'whsec_new', 300, now + 299), true);
  assert.equal(verifySignature(h, '{"a":1}', 'whsec_new', 300, now + 301), false);
  assert.equal(verifySignature(h, '{"a":2}', 'whsec_new', 300, now), false);
  assert.equal(verifySignature(h, '{"a":1}', 'whsec_other', 300, now), false);
});
