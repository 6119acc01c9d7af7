import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { domainName, serverIdOfDomain, tapName } from './naming.js';

test('domain names round-trip and refuse anything but a lower-case UUID', () => {
  const id = randomUUID();
  assert.equal(serverIdOfDomain(domainName(id)), id);
  assert.equal(serverIdOfDomain('test'), null);
  assert.throws(() => domainName('../../etc'));
  assert.throws(() => domainName(id.toUpperCase()));
});

test('tap names are deterministic, distinct and at most 15 characters', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = randomUUID();
    const t = tapName(id);
    assert.equal(t, tapName(id));
    assert.ok(t.length <= 15 && /^ob[0-9a-f]{13}$/.test(t));
    seen.add(t);
  }
  assert.equal(seen.size, 2000);
});
