import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenIn } from '@oblako/testing';
import { PANEL_URL, startHarness, type Harness } from './support/harness.js';

/** Invite `email` as `role` through the API, and accept with the link from the mail it got. */
async function inviteAndAccept(inviterToken: string, tenant: Record<string, string>, invitee: { email: string; token: string }, role: string) {
  const r = await h.http('POST', '/api/v1/members/invites', { token: inviterToken, headers: tenant, body: { email: invitee.email, role } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const mail = await h.mail!.waitForMail(invitee.email, (m) => m.text.includes(r.body.id) || m.subject.startsWith('Join'));
  const token = tokenIn(mail, `${PANEL_URL}/invite`);
  const accepted = await h.http('POST', '/api/v1/invites/accept', { token: invitee.token, body: { token } });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  return accepted.body;
}

let h: Harness;
before(async () => {
  h = await startHarness({ env: { ACCESS_TOKEN_TTL_SECONDS: '300' }, mail: true });
});
after(async () => {
  await h?.close();
});

test('register, login, me; wrong password and duplicate email are refused', async () => {
  const a = await h.register('auth');
  const me = await h.http('GET', '/api/v1/auth/me', { token: a.token });
  assert.equal(me.status, 200);
  assert.equal(me.body.email, a.email);
  assert.equal(me.body.memberships[0].role, 'owner');
  assert.equal(JSON.stringify(me.body).includes('password'), false);
  assert.equal((await h.http('POST', '/api/v1/auth/login', { body: { email: a.email, password: 'wrong-password-1' } })).status, 401);
  assert.equal((await h.http('POST', '/api/v1/auth/login', { body: { email: 'nobody@example.test', password: 'wrong-password-1' } })).status, 401);
  const dup = await h.http('POST', '/api/v1/auth/register', { body: { email: a.email.toUpperCase(), password: 'another-password', tenantName: 'X' } });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 'email_taken');
  const weak = await h.http('POST', '/api/v1/auth/register', { body: { email: 'weak@example.test', password: 'short', tenantName: 'X' } });
  assert.equal(weak.status, 400);
  assert.match(weak.body.message, /password must be 10 to 256 characters/);
});

test('refresh tokens rotate; a reused one ends the whole login', async () => {
  const a = await h.register('rot');
  const first = await h.http('POST', '/api/v1/auth/refresh', { body: { refreshToken: a.refreshToken } });
  assert.equal(first.status, 200);
  assert.notEqual(first.body.refreshToken, a.refreshToken);
  const second = await h.http('POST', '/api/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
  assert.equal(second.status, 200);
  assert.equal((await h.http('GET', '/api/v1/auth/me', { token: second.body.accessToken })).status, 200);

  // The first token is replayed (stolen?): refused, and the session it belongs to ends.
  const replay = await h.http('POST', '/api/v1/auth/refresh', { body: { refreshToken: a.refreshToken } });
  assert.equal(replay.status, 401);
  assert.equal(replay.body.code, 'refresh_token_reused');
  const afterReplay = await h.http('POST', '/api/v1/auth/refresh', { body: { refreshToken: second.body.refreshToken } });
  assert.equal(afterReplay.status, 401);
  assert.equal((await h.http('GET', '/api/v1/auth/me', { token: second.body.accessToken })).status, 401);
  assert.equal((await h.http('POST', '/api/v1/auth/refresh', { body: { refreshToken: 'ort_garbage' } })).body.code, 'invalid_refresh_token');
});

test('logout ends the refresh token and its access tokens at once', async () => {
  const a = await h.register('out');
  assert.equal((await h.http('POST', '/api/v1/auth/logout', { body: { refreshToken: a.refreshToken } })).status, 204);
  assert.equal((await h.http('GET', '/api/v1/auth/me', { token: a.token })).status, 401);
  const r = await h.http('POST', '/api/v1/auth/refresh', { body: { refreshToken: a.refreshToken } });
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'session_ended');
  // Another login of the same user is unaffected.
  const again = await h.login(a.email, a.password);
  assert.equal((await h.http('GET', '/api/v1/auth/me', { token: again })).status, 200);
});

test('API tokens: shown once, stored hashed, usable as Bearer, revocable', async () => {
  const a = await h.register('tok');
  const created = await h.http('POST', '/api/v1/api-tokens', { token: a.token, body: { name: 'ci' } });
  assert.equal(created.status, 201);
  const secret: string = created.body.token;
  assert.match(secret, /^oat_/);
  assert.ok(secret.startsWith(created.body.prefix));
  const list = await h.http('GET', '/api/v1/api-tokens', { token: a.token });
  assert.equal(list.body.length, 1);
  assert.equal(list.body[0].token, undefined);
  assert.equal(JSON.stringify(list.body).includes(secret), false);
  const stored = await h.ds.query('SELECT token_hash FROM api_tokens WHERE id = $1', [created.body.id]);
  assert.notEqual(stored[0].token_hash, secret);
  assert.equal(JSON.stringify(stored).includes(secret.slice(4)), false);

  assert.equal((await h.http('GET', '/api/v1/servers', { token: secret })).status, 200);
  const used = await h.http('GET', '/api/v1/api-tokens', { token: secret });
  assert.notEqual(used.body[0].lastUsedAt, null);

  assert.equal((await h.http('DELETE', `/api/v1/api-tokens/${created.body.id}`, { token: a.token })).status, 204);
  const after = await h.http('GET', '/api/v1/servers', { token: secret });
  assert.equal(after.status, 401);
  assert.equal((await h.http('DELETE', `/api/v1/api-tokens/${created.body.id}`, { token: a.token })).status, 404);
});

test('a member cannot manage API tokens (permissions from the contract)', async () => {
  const a = await h.register('perm');
  const user = await h.register('perm-member');
  await h.ds.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')`, [a.tenantId, user.userId]);
  const asMember = { 'x-tenant-id': a.tenantId };
  const denied = await h.http('POST', '/api/v1/api-tokens', { token: user.token, headers: asMember, body: { name: 'x' } });
  assert.equal(denied.status, 403);
  assert.match(denied.body.message, /role "member"/);
  assert.equal((await h.http('GET', '/api/v1/servers', { token: user.token, headers: asMember })).status, 200);
});

test('password guessing is slowed down after ten failures', async () => {
  const a = await h.register('guess');
  for (let i = 0; i < 10; i++) {
    assert.equal((await h.http('POST', '/api/v1/auth/login', { body: { email: a.email, password: `wrong-password-${i}` } })).status, 401);
  }
  const blocked = await h.http('POST', '/api/v1/auth/login', { body: { email: a.email, password: a.password } });
  assert.equal(blocked.status, 429);
  assert.equal(blocked.body.code, 'too_many_attempts');
  assert.match(blocked.body.message, /try again in 15 minute/);
  assert.ok(Number(blocked.headers.get('retry-after')) > 800);
});

test('members: owners and admins manage roles; the last owner stays; other tenants see nothing', async () => {
  const owner = await h.register('team-owner');
  const alice = await h.register('team-alice');
  const bob = await h.register('team-bob');
  const stranger = await h.register('team-stranger');
  const inTeam = { 'x-tenant-id': owner.tenantId };

  const add = await inviteAndAccept(owner.token, {}, alice, 'admin');
  assert.equal(add.role, 'admin');
  assert.equal((await h.http('POST', '/api/v1/members/invites', { token: owner.token, body: { email: alice.email, role: 'member' } })).body.code, 'already_member');

  // An admin may invite members but not owners.
  assert.equal((await h.http('POST', '/api/v1/members/invites', { token: alice.token, headers: inTeam, body: { email: bob.email, role: 'owner' } })).body.code, 'owner_only');
  await inviteAndAccept(alice.token, inTeam, bob, 'member');
  // A member may not manage members, but sees the list and the tenant's servers.
  assert.equal((await h.http('PATCH', `/api/v1/members/${alice.userId}`, { token: bob.token, headers: inTeam, body: { role: 'member' } })).status, 403);
  const list = await h.http('GET', '/api/v1/members', { token: bob.token, headers: inTeam });
  assert.deepEqual(list.body.map((x: { email: string; role: string }) => [x.email, x.role]), [[owner.email, 'owner'], [alice.email, 'admin'], [bob.email, 'member']]);
  assert.equal((await h.http('GET', '/api/v1/servers', { token: bob.token, headers: inTeam })).status, 200);

  // The last owner can neither be demoted nor removed.
  const demote = await h.http('PATCH', `/api/v1/members/${owner.userId}`, { token: owner.token, body: { role: 'admin' } });
  assert.equal(demote.status, 409);
  assert.equal(demote.body.code, 'last_owner');
  assert.equal((await h.http('DELETE', `/api/v1/members/${owner.userId}`, { token: owner.token })).body.code, 'last_owner');

  // Another tenant cannot see or touch these memberships.
  assert.deepEqual((await h.http('GET', '/api/v1/members', { token: stranger.token })).body.map((x: { email: string }) => x.email), [stranger.email]);
  assert.equal((await h.http('DELETE', `/api/v1/members/${bob.userId}`, { token: stranger.token })).status, 404);

  // Removing a member ends their access and their API tokens in this tenant.
  const tok = await h.http('POST', '/api/v1/api-tokens', { token: alice.token, headers: inTeam, body: { name: 'alice-ci' } });
  assert.equal(tok.status, 201);
  assert.equal((await h.http('DELETE', `/api/v1/members/${alice.userId}`, { token: owner.token })).status, 204);
  assert.equal((await h.http('GET', '/api/v1/servers', { token: alice.token, headers: inTeam })).status, 404);
  assert.equal((await h.http('GET', '/api/v1/servers', { token: tok.body.token })).status, 401);
});
