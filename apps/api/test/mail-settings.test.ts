import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoggerService } from '@nestjs/common';
import { freePort, startMailCatcher, tokenIn, uniqueName, waitFor, type MailCatcher } from '@oblako/testing';
import { MailService } from '../src/mail/mail.service.js';
import { ADMIN, startHarness, type Harness } from './support/harness.js';

/** Every line the in-process API logs, at every level. */
const logLines: string[] = [];
const capture: LoggerService = Object.fromEntries(
  ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'].map((level) => [level, (...args: unknown[]) => void logLines.push(`${level} ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a) ?? String(a))).join(' ')}`)]),
) as unknown as LoggerService;

const RELAY = { user: 'relay-user', password: `pw-${randomBytes(12).toString('hex')}` };
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;

let h: Harness;
let relay: MailCatcher;
const relayDir = join(tmpdir(), uniqueName('oblako-relay'));
/** A second API replica, a process of its own on the same database. */
let second: { url: string; child: ChildProcess; output: string };
/** Every answer the API gave in these tests, to look for the password in. */
const answers: string[] = [];
let staff: string;

async function call(base: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  answers.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const register = async (base: string, label: string) => {
  const email = `${label}-${randomBytes(4).toString('hex')}@example.test`;
  const r = await call(base, 'POST', '/api/v1/auth/register', { body: { email, password: 'correct-horse-battery', tenantName: `Tenant ${label}` } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return email;
};

const nimbus = (over: Record<string, unknown> = {}) => ({
  host: '127.0.0.1', port: relay.smtpPort, security: 'none', user: RELAY.user, password: RELAY.password, tlsVerify: true,
  from: 'Nimbus Hosting <mail@nimbus.test>', brandName: 'Nimbus Hosting', supportEmail: 'help@nimbus.test', panelUrl: 'https://panel.nimbus.test/',
  ...over,
});

before(async () => {
  h = await startHarness({ mail: true, logger: capture });
  relay = await startMailCatcher({ dir: relayDir, auth: RELAY });
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('../src/main.js', import.meta.url))], { env: { ...process.env, ...h.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  second = { url: `http://127.0.0.1:${port}`, child, output: '' };
  child.stdout!.on('data', (b: Buffer) => (second.output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (second.output += b.toString()));
  await waitFor('the second API replica', async () => {
    if (child.exitCode !== null) throw new Error(`the second replica exited with code ${child.exitCode}: ${second.output}`);
    return (await fetch(`${second.url}/health`).catch(() => null))?.ok;
  }, { timeoutMs: 90_000, intervalMs: 100 });
  staff = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  second?.child.kill('SIGTERM');
  await relay?.stop();
  await h?.close();
  rmSync(relayDir, { recursive: true, force: true });
});

describe('mail settings that staff configure', () => {
  test('saved on one replica, the other sends through the new SMTP server (with its login) and names the new brand in both parts', async () => {
    const before = await call(h.url, 'GET', '/api/v1/admin/settings/mail', { token: staff });
    assert.equal(before.status, 200);
    assert.equal(before.body.source, 'environment');
    assert.equal(before.body.port, h.mail!.smtpPort);
    assert.equal(before.body.brandName, 'Oblako');
    assert.equal(before.body.passwordSet, false);

    // Only the second replica sends from here on, so what it sends shows what it uses.
    const first = h.api.app.get(MailService);
    await first.beforeApplicationShutdown();
    try {
      const early = await register(second.url, 'early');
      const old = await h.mail!.waitForMail(early);
      assert.match(old.subject, /· Oblako$/);

      // Saved through the first replica...
      const saved = await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: nimbus() });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.equal(saved.body.source, 'saved');
      assert.equal(saved.body.passwordSet, true);
      assert.equal('password' in saved.body, false);
      assert.equal(saved.body.panelUrl, 'https://panel.nimbus.test');
      assert.equal(saved.body.updatedBy, ADMIN.email);
      assert.equal(saved.body.version, before.body.version + 1);

      // ...the second replica renders and sends the next mail with them.
      const late = await register(second.url, 'late');
      const mail = await relay.waitForMail(late, () => true, 20_000);
      assert.equal(mail.authUser, RELAY.user, 'sent with the saved login');
      assert.match(mail.from, /^"?Nimbus Hosting"? <mail@nimbus\.test>$/);
      assert.match(mail.subject, /^Confirm your email address · Nimbus Hosting$/);
      for (const part of [mail.text, mail.html]) {
        assert.match(part, /Welcome to Nimbus Hosting/);
        assert.match(part, /help@nimbus\.test/);
        assert.match(part, /https:\/\/panel\.nimbus\.test\/verify-email\?token=/);
        assert.doesNotMatch(part, /Oblako/);
      }
      assert.equal(h.mail!.inbox().some((m) => m.to.includes(late)), false, 'nothing went to the old server');
      const verified = await call(h.url, 'POST', '/api/v1/auth/verify-email', { body: { token: tokenIn(mail, 'https://panel.nimbus.test/verify-email') } });
      assert.equal(verified.status, 200, 'the link in the new brand works');
      assert.match(second.output, /Mail settings changed \(version \d+\): sending through 127\.0\.0\.1:\d+ \(none\)/);
    } finally {
      first.onApplicationBootstrap();
    }

    // The two-factor enrolment names the brand too (the authenticator app shows it).
    const owner = await register(h.url, 'tfa-brand');
    const token = await h.login(owner, 'correct-horse-battery');
    const setup = await call(h.url, 'POST', '/api/v1/auth/2fa/setup', { token, body: { password: 'correct-horse-battery' } });
    assert.match(setup.body.otpauthUri, /^otpauth:\/\/totp\/Nimbus%20Hosting:/);
  });

  test("a test mail reports the SMTP server's answer; the password is kept when left out and never shown", async () => {
    const ok = await call(h.url, 'POST', '/api/v1/admin/settings/mail/test', { token: staff, body: { to: 'staff-check@example.test' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.sent, true);
    assert.equal(ok.body.responseCode, 250);
    assert.match(ok.body.response, /^250 /);
    const testMail = await relay.waitForMail('staff-check@example.test');
    assert.equal(testMail.subject, 'Test mail · Nimbus Hosting');

    // Another brand, the password left out: it stays.
    const renamed = await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: { ...nimbus({ brandName: 'Nimbus Cloud' }), password: undefined } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.passwordSet, true);
    const kept = await call(h.url, 'POST', '/api/v1/admin/settings/mail/test', { token: staff, body: { to: 'staff-check-2@example.test' } });
    assert.equal(kept.body.sent, true, JSON.stringify(kept.body));
    assert.equal((await relay.waitForMail('staff-check-2@example.test')).subject, 'Test mail · Nimbus Cloud');

    // A wrong password: the server's refusal comes back as it said it.
    assert.equal((await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: nimbus({ password: WRONG_PASSWORD }) })).status, 200);
    const refused = await call(h.url, 'POST', '/api/v1/admin/settings/mail/test', { token: staff, body: { to: 'staff-check-3@example.test' } });
    assert.equal(refused.body.sent, false);
    assert.equal(refused.body.responseCode, 535);
    assert.equal(refused.body.errorCode, 'EAUTH');
    assert.match(refused.body.response, /^535 .*Authentication failed/);
    // A server that is not there.
    const gone = await freePort();
    assert.equal((await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: nimbus({ port: gone }) })).status, 200);
    const nobody = await call(h.url, 'POST', '/api/v1/admin/settings/mail/test', { token: staff, body: { to: 'staff-check-4@example.test' } });
    assert.equal(nobody.body.sent, false);
    assert.match(nobody.body.errorCode, /^(ECONNECTION|ESOCKET)$/);
    assert.match(nobody.body.message, /ECONNREFUSED/);

    // Forgotten: the environment's server and brand apply again.
    const reset = await call(h.url, 'DELETE', '/api/v1/admin/settings/mail', { token: staff });
    assert.equal(reset.status, 200);
    assert.equal(reset.body.source, 'environment');
    assert.equal(reset.body.port, h.mail!.smtpPort);
    assert.equal(reset.body.passwordSet, false);
    const back = await register(h.url, 'back');
    assert.match((await h.mail!.waitForMail(back)).subject, /· Oblako$/);

    // The audit log has each change, without the password.
    const audit = await call(h.url, 'GET', '/api/v1/admin/audit?limit=200', { token: staff });
    const actions = audit.body.map((e: { action: string }) => e.action);
    for (const a of ['settings.mail', 'settings.mail_test', 'settings.mail_reset']) assert.ok(actions.includes(a), `${a} in ${actions}`);
    assert.ok(audit.body.some((e: { action: string; details: { passwordChanged?: boolean } }) => e.action === 'settings.mail' && e.details.passwordChanged === true));

    // The password is in no answer, no log line of either replica, and not in plain text in the database.
    const stored = JSON.stringify(await h.ds.query('SELECT * FROM settings'));
    assert.ok(logLines.length > 0 && second.output.length > 0, 'the logs were captured');
    for (const secret of [RELAY.password, WRONG_PASSWORD]) {
      assert.equal(answers.some((a) => a.includes(secret)), false, 'an API answer carries the password');
      assert.equal(logLines.some((l) => l.includes(secret)), false, 'the first replica logged the password');
      assert.equal(second.output.includes(secret), false, 'the second replica logged the password');
      assert.equal(stored.includes(secret), false, 'the password is stored in plain text');
    }
  });

  test('clear 400s for bad settings; tenants cannot read or change them', async () => {
    const bad = async (over: Record<string, unknown>, field: string, problem: RegExp) => {
      const r = await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: nimbus(over) });
      assert.equal(r.status, 400, `${JSON.stringify(over)} → ${r.status}`);
      assert.equal(r.body.code, 'validation_failed');
      const d = r.body.details.find((x: { field: string }) => x.field === field);
      assert.ok(d, `no problem named for ${field}: ${JSON.stringify(r.body)}`);
      assert.match(d.problems.join('; '), problem);
    };
    await bad({ port: 0 }, 'port', /1 to 65535/);
    await bad({ port: '587' }, 'port', /whole number/);
    await bad({ security: 'ssl' }, 'security', /starttls, tls, none/);
    await bad({ host: 'smtp://mail.example.com:25' }, 'host', /host name .* or an IP address/);
    await bad({ host: 'mail example.com' }, 'host', /host name/);
    await bad({ from: 'Nimbus <not an address>' }, 'from', /an address/);
    await bad({ from: 'Evil\r\nBcc: x@y.z <a@b.test>' }, 'from', /an address/);
    await bad({ supportEmail: 'help' }, 'supportEmail', /email address/);
    await bad({ panelUrl: 'ftp://panel.nimbus.test' }, 'panelUrl', /http\(s\)/);
    await bad({ brandName: '   ' }, 'brandName', /empty/);
    await bad({ user: 'someone', password: null }, 'password', /required when user is set/);
    await bad({ password: '' }, 'password', /must not be empty/);
    await bad({ tlsVerify: 'yes' }, 'tlsVerify', /true or false/);
    await bad({ smtpHost: 'x' }, 'smtpHost', /unknown field/);
    const missing = await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: { host: 'mail.example.com' } });
    assert.equal(missing.status, 400);
    assert.deepEqual(new Set(missing.body.details.map((d: { field: string }) => d.field)), new Set(['port', 'security', 'user', 'tlsVerify', 'from', 'brandName', 'supportEmail', 'panelUrl']));
    assert.equal((await call(h.url, 'POST', '/api/v1/admin/settings/mail/test', { token: staff, body: { to: 'nope' } })).status, 400);
    assert.equal((await call(h.url, 'GET', '/api/v1/admin/settings/mail', { token: staff })).body.source, 'environment', 'nothing was saved');

    // The settings in force can be saved back as they are, defaults included (sender and support address on
    // "localhost", a host without a dot): the panel's form starts from them.
    const inForce = (await call(h.url, 'GET', '/api/v1/admin/settings/mail', { token: staff })).body;
    assert.match(inForce.supportEmail, /@localhost$/);
    const { host, port, security, user, tlsVerify, from, brandName, supportEmail, panelUrl } = inForce;
    const same = await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: { host, port, security, user, tlsVerify, from, brandName, supportEmail, panelUrl } });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.equal((await call(h.url, 'DELETE', '/api/v1/admin/settings/mail', { token: staff })).status, 200);

    // No user and no password: a relay that needs no login.
    const open = await call(h.url, 'PUT', '/api/v1/admin/settings/mail', { token: staff, body: nimbus({ user: null, password: null, port: h.mail!.smtpPort }) });
    assert.equal(open.status, 200, JSON.stringify(open.body));
    assert.equal(open.body.passwordSet, false);
    assert.equal((await call(h.url, 'DELETE', '/api/v1/admin/settings/mail', { token: staff })).status, 200);

    const tenant = await h.register('not-staff');
    for (const [method, body] of [['GET', undefined], ['PUT', nimbus()], ['DELETE', undefined]] as const) {
      assert.equal((await call(h.url, method, '/api/v1/admin/settings/mail', { token: tenant.token, body })).status, 403);
    }
    assert.equal((await call(h.url, 'POST', '/api/v1/admin/settings/mail/test', { token: tenant.token, body: { to: 'x@example.test' } })).status, 403);
    assert.equal((await call(h.url, 'GET', '/api/v1/admin/settings/mail')).status, 401);
  });
});
