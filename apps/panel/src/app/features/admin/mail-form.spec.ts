import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { components } from '../../core/api/openapi.js';
import { draftOf, mailBody } from './mail-form.js';

const saved: components['schemas']['MailSettingsDto'] = {
  host: 'smtp.example.com', port: 587, security: 'starttls', user: 'mailer', passwordSet: true, tlsVerify: true,
  from: 'Example Cloud <no-reply@example.com>', brandName: 'Example Cloud', supportEmail: 'support@example.com',
  panelUrl: 'https://panel.example.com', source: 'saved', version: 3, updatedAt: '2026-12-01T10:00:00Z', updatedBy: 'admin@example.com',
};

test('an untouched form keeps the saved password (the field is left out) and sends every other field', () => {
  const r = mailBody(draftOf(saved));
  assert.ok('body' in r);
  assert.equal('password' in r.body, false);
  assert.deepEqual({ ...r.body }, { host: 'smtp.example.com', port: 587, security: 'starttls', user: 'mailer', tlsVerify: true, from: saved.from, brandName: 'Example Cloud', supportEmail: 'support@example.com', panelUrl: 'https://panel.example.com' });
});

test('a typed password replaces it, an empty login clears it, an empty host means no server', () => {
  const typed = mailBody({ ...draftOf(saved), password: 's3cret' });
  assert.ok('body' in typed && typed.body.password === 's3cret');
  const noLogin = mailBody({ ...draftOf(saved), user: '  ' });
  assert.ok('body' in noLogin && noLogin.body.password === null && noLogin.body.user === null);
  const noHost = mailBody({ ...draftOf(saved), host: ' ', panelUrl: 'https://panel.example.com/' });
  assert.ok('body' in noHost && noHost.body.host === null && noHost.body.panelUrl === 'https://panel.example.com');
});

test('mistakes are named before a round trip: port, a host with a scheme or port, a password without a login', () => {
  for (const port of ['', '0', '65536', '58 7', 'abc']) assert.match((mailBody({ ...draftOf(saved), port }) as { error: string }).error, /port/);
  for (const host of ['smtp://smtp.example.com', 'smtp.example.com:587', 'smtp example']) assert.match((mailBody({ ...draftOf(saved), host }) as { error: string }).error, /host name/);
  assert.match((mailBody({ ...draftOf(saved), user: '', password: 'x' }) as { error: string }).error, /login/);
});
