import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.js';

const good = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x',
  NATS_URL: 'nats://127.0.0.1:4222',
  JWT_SECRET: 'x'.repeat(40),
};

test('defaults apply and billing is off without a Stripe key', () => {
  const c = loadConfig(good);
  assert.equal(c.port, 3000);
  assert.equal(c.natsSubjectPrefix, 'oblako');
  assert.equal(c.billing.enabled, false);
});

test('billing turns on with STRIPE_SECRET_KEY', () => {
  assert.equal(loadConfig({ ...good, STRIPE_SECRET_KEY: 'sk_test_abc' }).billing.enabled, true);
});

test('every bad or missing setting is named', () => {
  try {
    loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x' });
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.message;
    for (const name of ['DATABASE_URL', 'NATS_URL', 'JWT_SECRET', 'PORT']) assert.match(text, new RegExp(name));
  }
});

test('NATS_URL may list the servers of a NATS cluster; a bad entry is named', () => {
  assert.equal(loadConfig({ ...good, NATS_URL: 'nats://10.0.0.1:4222,nats://10.0.0.2:4222, nats://10.0.0.3:4222' }).natsUrl, 'nats://10.0.0.1:4222,nats://10.0.0.2:4222, nats://10.0.0.3:4222');
  assert.equal(loadConfig({ ...good, NATS_URL: 'nats://a:1,nats://b:2', NATS_STREAM_REPLICAS: '3' }).natsStreamReplicas, 3);
  assert.throws(() => loadConfig({ ...good, NATS_URL: 'nats://a:1,http://b:2' }), /NATS_URL: "http:\/\/b:2" is not a NATS server URL/);
});
