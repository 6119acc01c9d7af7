import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthTokensView } from '@oblako/contracts';
import { ApiRequestError } from '../api/api-error.js';
import { Session, memoryTokenStore, type FetchLike } from './session.js';

const user = { id: 'u1', email: 'a@example.com', staffRole: null, memberships: [] };
let n = 0;
function tokens(expiresIn = 900): AuthTokensView {
  n += 1;
  return { accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn, user };
}
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

interface Call { url: string; auth: string | null; body: unknown }
function fakeApi(handler: (call: Call) => Response | Promise<Response>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (input, init = {}) => {
      const isReq = typeof input !== 'string';
      const text = isReq ? await input.text() : typeof init.body === 'string' ? init.body : '';
      const call = {
        url: isReq ? new URL(input.url).pathname : input,
        auth: (isReq ? input.headers : new Headers(init.headers)).get('Authorization'),
        body: text ? JSON.parse(text) : null,
      };
      calls.push(call);
      return handler(call);
    },
  };
}

test('login keeps the access token in memory and the refresh token in the store', async () => {
  const store = memoryTokenStore();
  const api = fakeApi(() => json(200, tokens()));
  const s = new Session(api.fetch, store);
  const me = await s.login('a@example.com', 'correct horse');
  assert.equal('email' in me && me.email, 'a@example.com');
  assert.match(store.get() ?? '', /^refresh-/);
  assert.equal(api.calls[0]?.url, '/api/v1/auth/login');
});

test('with two-factor sign-in on, login answers the challenge and stores nothing until the code step', async () => {
  const store = memoryTokenStore();
  let step = 0;
  const api = fakeApi(() => (step++ === 0 ? json(200, { twoFactorRequired: true, challengeToken: 'o2f_x', expiresIn: 300, methods: ['totp', 'recovery_code'] }) : json(200, tokens())));
  const s = new Session(api.fetch, store);
  const first = await s.login('a@example.com', 'correct horse');
  assert.equal('twoFactorRequired' in first && first.challengeToken, 'o2f_x');
  assert.equal(store.get(), null);
  assert.equal(s.hasAccessToken, false);
  const me = await s.loginTwoFactor('o2f_x', '123456');
  assert.equal(me.email, 'a@example.com');
  assert.equal(api.calls[1]?.url, '/api/v1/auth/login/2fa');
  assert.match(store.get() ?? '', /^refresh-/);
});

test('a refused login throws the API message and stores nothing', async () => {
  const store = memoryTokenStore();
  const s = new Session(fakeApi(() => json(401, { code: 'bad_credentials', message: 'Wrong email or password.' })).fetch, store);
  await assert.rejects(s.login('a@example.com', 'nope'), (e: unknown) => e instanceof ApiRequestError && e.message === 'Wrong email or password.');
  assert.equal(store.get(), null);
});

test('a 401 triggers one shared refresh and a retry with the new token', async () => {
  const store = memoryTokenStore();
  let current = '';
  const api = fakeApi((c) => {
    if (c.url.endsWith('/auth/login') || c.url.endsWith('/auth/refresh')) {
      const t = tokens();
      current = `Bearer ${t.accessToken}`;
      return json(200, t);
    }
    return c.auth === current ? json(200, { ok: true }) : json(401, { message: 'expired' });
  });
  const s = new Session(api.fetch, store);
  await s.login('a@example.com', 'pw');
  current = 'Bearer something-else'; // the API no longer accepts the token we hold
  const [a, b] = await Promise.all([s.fetch('/api/v1/servers'), s.fetch('/api/v1/ssh-keys')]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(api.calls.filter((c) => c.url.endsWith('/auth/refresh')).length, 1);
});

test('a refused refresh ends the session and returns the 401', async () => {
  const store = memoryTokenStore('stale');
  const seen: unknown[] = [];
  const api = fakeApi((c) => (c.url.endsWith('/auth/refresh') ? json(401, { message: 'Refresh token revoked.' }) : json(401, {})));
  const s = new Session(api.fetch, store, (u) => seen.push(u));
  assert.equal(await s.restore(), null);
  assert.equal(store.get(), null);
  const res = await s.fetch('/api/v1/servers');
  assert.equal(res.status, 401);
});

test('a token rotated by another tab is retried once', async () => {
  const store = memoryTokenStore('old');
  const api = fakeApi((c) => {
    const rt = (c.body as { refreshToken: string }).refreshToken;
    if (rt === 'old') {
      store.set('new-from-other-tab');
      return json(401, { message: 'rotated' });
    }
    return json(200, tokens());
  });
  const s = new Session(api.fetch, store);
  assert.ok(await s.restore());
  assert.equal(api.calls.length, 2);
});

test('refreshes ahead of expiry and logout revokes and forgets', async () => {
  let clock = 0;
  const store = memoryTokenStore();
  const api = fakeApi((c) => (c.url.includes('/auth/') && !c.url.endsWith('logout') ? json(200, tokens(60)) : json(200, {})));
  const s = new Session(api.fetch, store, () => undefined, () => clock);
  await s.login('a@example.com', 'pw');
  clock = 45_000; // within 30 s of expiry
  await s.fetch('/api/v1/servers');
  assert.deepEqual(api.calls.map((c) => c.url), ['/api/v1/auth/login', '/api/v1/auth/refresh', '/api/v1/servers']);
  await s.logout();
  assert.equal(api.calls.at(-1)?.url, '/api/v1/auth/logout');
  assert.equal(store.get(), null);
  assert.equal(s.user, null);
});

test('Request inputs (the generated client) get the token and a retry with their body intact', async () => {
  const store = memoryTokenStore();
  let accepted = '';
  const api = fakeApi((c) => {
    if (c.url.endsWith('/auth/login') || c.url.endsWith('/auth/refresh')) {
      const t = tokens();
      accepted = c.url.endsWith('/auth/refresh') ? `Bearer ${t.accessToken}` : 'nothing yet';
      return json(200, t);
    }
    return c.auth === accepted ? json(201, { echoed: c.body }) : json(401, { message: 'expired' });
  });
  const s = new Session(api.fetch, store);
  await s.login('a@example.com', 'pw');
  const req = new Request('http://panel.test/api/v1/servers', { method: 'POST', body: JSON.stringify({ hostname: 'web-1' }), headers: { 'Content-Type': 'application/json' } });
  const res = await s.fetch(req);
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), { echoed: { hostname: 'web-1' } });
});
