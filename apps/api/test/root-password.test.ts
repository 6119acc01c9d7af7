/**
 * Logging in without a key (issue 13): an order carries an SSH key, a root password or both (ORDER_REQUIRES_LOGIN
 * on, as in production), the password is hashed at once (SHA-512 crypt) and only the hash is stored and sent to
 * the node; a rebuild chooses keys and password again; reset_password sends the hash to the node's guest agent,
 * is refused at once (409) on an image without one, and says why when the guest's agent does not answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { verifyPassword } from '../src/common/sha512-crypt.js';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, newEd25519Line, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let admin: string;
const PASSWORD = 'Correct-horse-7 battery';

before(async () => {
  h = await startHarness({ env: { ORDER_REQUIRES_LOGIN: 'true' } });
  // the simulated node answers as a node whose guests have no agent would, for reset_password
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) =>
    cmd.op === 'reset_password' ? { ok: false, domainState: 'running', error: { code: 'agent_unavailable', message: 'no guest agent answers in this server' } } : { ok: true });
  admin = await h.login(ADMIN.email, ADMIN.password);
});
after(async () => {
  await node?.stop();
  await h?.close();
});

const order = (token: string, extra: Record<string, unknown>, headers: Record<string, string> = {}) =>
  h.http('POST', '/api/v1/servers', { token, headers, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, ...extra } });

async function settled(token: string, id: string) {
  return waitFor(`server ${id} to settle`, async () => {
    const r = await h.http('GET', `/api/v1/servers/${id}`, { token });
    return r.body.state === 'running' && !['queued', 'dispatched', 'running'].includes(r.body.currentTask?.state) ? r.body : undefined;
  }, { timeoutMs: 5000, intervalMs: 10 });
}

/** Every place a clear password could have leaked to: none may hold it. */
async function assertNowhere(clear: string) {
  for (const [table, col] of [['servers', 'root_password_hash'], ['outbox', 'payload::text'], ['audit_log', 'details::text'], ['tasks', 'timings::text']] as const) {
    const [{ n }] = await h.ds.query(`SELECT count(*)::int AS n FROM ${table} WHERE position($1 in ${col}) > 0`, [clear]);
    assert.equal(n, 0, `${table}.${col} holds the clear password`);
  }
}

test('an order with neither an SSH key nor a password is refused naming both fields; a bad password names rootPassword', async () => {
  const a = await h.register('pw-none');
  const none = await order(a.token, { hostname: 'nokey' });
  assert.equal(none.status, 400);
  assert.equal(none.body.code, 'invalid_input');
  assert.deepEqual(none.body.details.map((d: { field: string }) => d.field).sort(), ['rootPassword', 'sshKeyIds']);
  for (const bad of ['short', 'x'.repeat(129), 'tab\there-ok-long', 42]) {
    const r = await order(a.token, { hostname: 'badpw', rootPassword: bad });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.match(r.body.message, /rootPassword must be 8 to 128 characters/);
    assert.ok(!JSON.stringify(r.body).includes(String(bad)) || bad === 42, 'the refused password is not echoed');
  }
  assert.equal(await h.count('servers'), 0);
});

test('an order with a password: only its SHA-512 crypt hash is stored and sent to the node, never answered; the same key with the same password replays', async () => {
  const a = await h.register('pw-order');
  const created = await order(a.token, { hostname: 'pw-1', rootPassword: PASSWORD }, { 'idempotency-key': 'pw-order-1' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.ok(!JSON.stringify(created.body).includes('$6$'), 'no hash in the answer');
  const id = created.body.id;
  const view = await settled(a.token, id);
  // the view says only that a password is set (rootPasswordSet), never the password or its hash
  assert.ok(!JSON.stringify(view).includes('$6$') && !JSON.stringify(view).includes(PASSWORD));
  assert.deepEqual(Object.keys(view).filter((k) => /password/i.test(k)), ['rootPasswordSet']);
  assert.equal(view.rootPasswordSet, true);
  assert.deepEqual(view.sshKeyIds, []);
  const [{ root_password_hash: hash }] = await h.ds.query('SELECT root_password_hash FROM servers WHERE id = $1', [id]);
  assert.match(hash, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  assert.ok(verifyPassword(PASSWORD, hash));
  const cmd = node.received.find((c) => c.serverId === id && c.op === 'create');
  assert.ok(cmd && cmd.op === 'create');
  assert.equal(cmd.spec.rootPasswordHash, hash);
  assert.deepEqual(cmd.spec.sshKeys, []);
  await assertNowhere(PASSWORD);
  const [audit] = await h.ds.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'server.create'`, [id]);
  assert.equal(audit.details.rootPassword, true);

  const again = await order(a.token, { hostname: 'pw-1', rootPassword: PASSWORD }, { 'idempotency-key': 'pw-order-1' });
  assert.equal(again.status, 201);
  assert.equal(again.body.id, id);
  const other = await order(a.token, { hostname: 'pw-1', rootPassword: PASSWORD + '!' }, { 'idempotency-key': 'pw-order-1' });
  assert.equal(other.status, 409);
  assert.equal(other.body.code, 'idempotency_key_reused');
});

test('rebuild chooses keys and password again; it may not leave the server without a way in', async () => {
  const a = await h.register('pw-rebuild');
  const key = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'laptop', publicKey: await newEd25519Line('laptop@pw') } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const created = await order(a.token, { hostname: 'pw-rb', sshKeyIds: [key.body.id] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  // what a rebuild dialog starts from: the server's keys and whether root has a password
  const first = await settled(a.token, id);
  assert.deepEqual(first.sshKeyIds, [key.body.id]);
  assert.equal(first.rootPasswordSet, false);
  const act = (body: Record<string, unknown>) => h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body });

  const nothing = await act({ action: 'rebuild', sshKeyIds: [] });
  assert.equal(nothing.status, 400);
  assert.deepEqual(nothing.body.details.map((d: { field: string }) => d.field).sort(), ['rootPassword', 'sshKeyIds']);
  assert.equal((await act({ action: 'start', rootPassword: PASSWORD })).status, 400, 'rootPassword only with rebuild or reset_password');
  assert.equal((await act({ action: 'reboot', sshKeyIds: [] })).status, 400, 'sshKeyIds only with rebuild');

  const rb = await act({ action: 'rebuild', sshKeyIds: [], rootPassword: PASSWORD });
  assert.equal(rb.status, 202, JSON.stringify(rb.body));
  const after = await settled(a.token, id);
  assert.deepEqual(after.sshKeyIds, []);
  assert.equal(after.rootPasswordSet, true);
  assert.ok(!JSON.stringify(after).includes('$6$'));
  const cmd = node.received.filter((c) => c.serverId === id && c.op === 'rebuild').at(-1);
  assert.ok(cmd && cmd.op === 'rebuild');
  assert.deepEqual(cmd.spec.sshKeys, [], 'the key was taken off');
  assert.ok(cmd.spec.rootPasswordHash && verifyPassword(PASSWORD, cmd.spec.rootPasswordHash));
  const [row] = await h.ds.query('SELECT ssh_key_ids, root_password_hash FROM servers WHERE id = $1', [id]);
  assert.deepEqual(row.ssh_key_ids, []);
  assert.equal(row.root_password_hash, cmd.spec.rootPasswordHash);

  // a plain rebuild keeps both
  assert.equal((await act({ action: 'rebuild' })).status, 202);
  await settled(a.token, id);
  const plain = node.received.filter((c) => c.serverId === id && c.op === 'rebuild').at(-1);
  assert.ok(plain && plain.op === 'rebuild' && plain.spec.rootPasswordHash === row.root_password_hash);
  // another team's key is unknown here
  const b = await h.register('pw-rebuild-b');
  const bKey = await h.http('POST', '/api/v1/ssh-keys', { token: b.token, body: { name: 'b', publicKey: await newEd25519Line('b@pw') } });
  assert.equal((await act({ action: 'rebuild', sshKeyIds: [bKey.body.id] })).status, 404);
  await assertNowhere(PASSWORD);
});

test('reset_password: 409 on an image without a guest agent; with one, the hash goes to the node and a silent agent fails the task with a clear reason', async () => {
  const a = await h.register('pw-reset');
  const b = await h.register('pw-reset-b');
  const created = await order(a.token, { hostname: 'pw-rs', rootPassword: PASSWORD });
  const id = created.body.id;
  await settled(a.token, id);
  const reset = (token: string, body: Record<string, unknown>) => h.http('POST', `/api/v1/servers/${id}/actions`, { token, body: { action: 'reset_password', ...body } });
  const NEW = 'a-brand-new-password';

  assert.equal((await reset(a.token, {})).status, 400, 'the new password is required');
  assert.equal((await reset(b.token, { rootPassword: NEW })).status, 404, "another team's server");
  const noAgent = await reset(a.token, { rootPassword: NEW });
  assert.equal(noAgent.status, 409);
  assert.equal(noAgent.body.code, 'no_guest_agent');
  assert.match(noAgent.body.message, /no guest agent/);

  const patched = await h.http('PATCH', `/api/v1/admin/images/${h.seed.imageIds[0]}`, { token: admin, body: { guestAgent: true } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.guestAgent, true);
  const images = await h.http('GET', '/api/v1/images', { token: a.token });
  assert.equal(images.body.find((i: { id: string }) => i.id === h.seed.imageIds[0]).guestAgent, true);

  const accepted = await reset(a.token, { rootPassword: NEW });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  assert.equal(accepted.body.state, 'running', 'the server keeps running');
  const cmd = await waitFor('the reset command', async () => node.received.find((c) => c.serverId === id && c.op === 'reset_password'), { timeoutMs: 5000 });
  assert.ok(cmd.op === 'reset_password');
  assert.equal(cmd.user, 'root');
  assert.ok(verifyPassword(NEW, cmd.passwordHash));
  const task = await waitFor('the task to fail', async () => {
    const [t] = await h.ds.query(`SELECT state, error FROM tasks WHERE server_id = $1 AND op = 'reset_password'`, [id]);
    return t?.state === 'failed' ? t : undefined;
  }, { timeoutMs: 5000, intervalMs: 20 });
  assert.match(task.error, /agent_unavailable: no guest agent answers/);
  const after = await settled(a.token, id);
  assert.equal(after.state, 'running');
  await assertNowhere(NEW);
  await h.http('PATCH', `/api/v1/admin/images/${h.seed.imageIds[0]}`, { token: admin, body: { guestAgent: false } });
});
