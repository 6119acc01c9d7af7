import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readBillingConfig } from './billing.config.js';

function read(env: Record<string, string>) {
  const problems: string[] = [];
  const str = (n: string) => (env[n]?.trim() ? env[n]!.trim() : undefined);
  const int = (n: string, def: number, min: number, max: number) => {
    const v = str(n);
    if (v === undefined) return def;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max) problems.push(n);
    return x;
  };
  return { config: readBillingConfig({ str, int, problems }), problems };
}

test('billing is off without a key, with defaults for grace and retention', () => {
  const { config, problems } = read({});
  assert.deepEqual(problems, []);
  assert.equal(config.enabled, false);
  assert.equal(config.graceHours, 72);
  assert.equal(config.retentionDays, 14);
  assert.equal(config.returnUrl, 'http://localhost:4200');
});

test('STRIPE_API_URL is split into the SDK host, port and protocol', () => {
  const { config, problems } = read({ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_y', STRIPE_API_URL: 'http://127.0.0.1:12111' });
  assert.deepEqual(problems, []);
  assert.ok(config.enabled);
  assert.deepEqual(config.stripeApi, { protocol: 'http', host: '127.0.0.1', port: 12111 });
  const https = read({ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_API_URL: 'https://stripe-mock.internal' }).config;
  assert.ok(https.enabled);
  assert.deepEqual(https.stripeApi, { protocol: 'https', host: 'stripe-mock.internal', port: 443 });
  const v6 = read({ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_API_URL: 'http://[::1]:8080' }).config;
  assert.ok(v6.enabled);
  assert.equal(v6.stripeApi?.host, '::1');
});

test('bad billing settings are named', () => {
  const { problems } = read({ STRIPE_SECRET_KEY: 'pk_test_x', STRIPE_WEBHOOK_SECRET: 'nope', STRIPE_API_URL: 'ftp://x', BILLING_RETURN_URL: 'panel' });
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems.join('\n'), /STRIPE_SECRET_KEY/);
  assert.match(problems.join('\n'), /STRIPE_WEBHOOK_SECRET/);
  assert.match(problems.join('\n'), /STRIPE_API_URL/);
  assert.match(problems.join('\n'), /BILLING_RETURN_URL/);
});
