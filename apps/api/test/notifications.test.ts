import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, PANEL_URL, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;
let receiver: Server;
let hookUrl = '';
const hooks: { type: string; data: Record<string, unknown> }[] = [];

before(async () => {
  h = await startHarness({ mail: true, env: { WEBHOOKS_ALLOW_LOCALHOST: 'true', WEBHOOK_POLL_MS: '100' } });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, (cmd) =>
    cmd.op === 'create' && cmd.spec.hostname.startsWith('bad') ? { ok: false, error: { code: 'image_checksum', message: 'base image checksum mismatch' } } : { ok: true },
  );
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(port, '127.0.0.1', () => ok()));
  hookUrl = `http://127.0.0.1:${port}/hook`;
});
after(async () => {
  await node?.stop();
  await new Promise<void>((ok) => receiver?.close(() => ok()));
  await h?.close();
});

const order = (token: string, hostname: string) =>
  h.http('POST', '/api/v1/servers', { token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname } });

test('a ready server and a failed task reach the panel and the mail of those who chose it, and the task webhooks fire', async () => {
  const owner = await h.register('notify-owner');
  const member = await h.register('notify-member');
  await h.ds.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')`, [owner.tenantId, member.userId]);
  const asMember = { 'x-tenant-id': owner.tenantId };
  assert.equal((await h.http('POST', '/api/v1/webhooks', { token: owner.token, body: { url: hookUrl, events: ['task'] } })).status, 201);

  // The member does not want mail about failed tasks; payment mail stays on for owners whatever they choose.
  const prefs = await h.http('PUT', '/api/v1/notifications/preferences', { token: member.token, headers: asMember, body: { preferences: [{ kind: 'task.failed', email: false }] } });
  assert.equal(prefs.status, 200, JSON.stringify(prefs.body));
  assert.equal(prefs.body.find((p: { kind: string }) => p.kind === 'task.failed').email, false);
  const ownerPrefs = await h.http('PUT', '/api/v1/notifications/preferences', { token: owner.token, body: { preferences: [{ kind: 'payment.failed', email: false }] } });
  const payment = ownerPrefs.body.find((p: { kind: string }) => p.kind === 'payment.failed');
  assert.deepEqual([payment.optional, payment.email], [false, true]);
  assert.equal(ownerPrefs.body.find((p: { kind: string }) => p.kind === 'security').optional, false);

  const ready = await order(owner.token, 'ready-1');
  assert.equal(ready.status, 201);
  const readyMail = await h.mail!.waitForMail(owner.email, (m) => /ready-1 is ready/.test(m.subject));
  const [ip] = await h.ds.query('SELECT host(address) AS a FROM ip_addresses WHERE server_id = $1 AND family(address) = 4', [ready.body.id]);
  assert.match(readyMail.text, new RegExp(`IPv4 address: ${ip.a.replace(/\./g, '\\.')}`));
  assert.match(readyMail.text, new RegExp(`ssh root@${ip.a.replace(/\./g, '\\.')}`));
  assert.match(readyMail.text, new RegExp(`${PANEL_URL}/servers/${ready.body.id}`));
  await h.mail!.waitForMail(member.email, (m) => /ready-1 is ready/.test(m.subject));

  const bad = await order(owner.token, 'bad-1');
  assert.equal(bad.status, 201);
  const failedMail = await h.mail!.waitForMail(owner.email, (m) => /create of bad-1 failed/.test(m.subject));
  assert.match(failedMail.text, /base image checksum mismatch/);
  await waitFor('the task webhooks', () => hooks.filter((x) => x.type === 'task.failed' || x.type === 'task.succeeded').length >= 2);
  assert.deepEqual(hooks.filter((x) => x.type.startsWith('task.')).map((x) => [x.type, x.data.hostname]).sort(), [['task.failed', 'bad-1'], ['task.succeeded', 'ready-1']]);
  assert.equal(hooks.some((x) => x.type === 'server.state_changed'), false, 'this endpoint chose tasks only');

  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(h.mail!.inbox().some((m) => m.to.includes(member.email) && /bad-1 failed/.test(m.subject)), false, 'the member turned that mail off');

  // In the panel: both entries, newest first, once each, then seen.
  const list = await h.http('GET', '/api/v1/notifications', { token: member.token, headers: asMember });
  assert.deepEqual(list.body.items.map((n: { kind: string }) => n.kind), ['task.failed', 'server.ready']);
  assert.equal(list.body.unread, 2);
  assert.equal((await h.http('POST', '/api/v1/notifications/seen', { token: member.token, headers: asMember })).status, 204);
  assert.equal((await h.http('GET', '/api/v1/notifications', { token: member.token, headers: asMember })).body.unread, 0);
  assert.equal((await h.http('GET', '/api/v1/notifications', { token: owner.token })).body.unread, 2, 'seen is per user');
  // Another tenant sees none of it.
  const stranger = await h.register('notify-stranger');
  assert.deepEqual((await h.http('GET', '/api/v1/notifications', { token: stranger.token })).body.items, []);
});

test('node maintenance tells every tenant with a server on that node, once', async () => {
  const a = await h.register('maint');
  const s = await order(a.token, 'maint-1');
  await waitFor('the server to run', async () => (await h.http('GET', `/api/v1/servers/${s.body.id}`, { token: a.token })).body.state === 'running');
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const r = await h.http('PATCH', `/api/v1/admin/nodes/${h.seed.nodeId}`, { token: staff, body: { state: 'maintenance' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await h.http('PATCH', `/api/v1/admin/nodes/${h.seed.nodeId}`, { token: staff, body: { state: 'maintenance' } });
  const mail = await h.mail!.waitForMail(a.email, (m) => /Maintenance/.test(m.subject));
  assert.match(mail.text, /maint-1/);
  const list = await h.http('GET', '/api/v1/notifications', { token: a.token });
  assert.equal(list.body.items.filter((n: { kind: string }) => n.kind === 'node.maintenance').length, 1);
  await h.http('PATCH', `/api/v1/admin/nodes/${h.seed.nodeId}`, { token: staff, body: { state: 'online' } });
});
