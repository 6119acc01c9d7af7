import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from '@oblako/testing';
import { WebhooksService } from '../src/webhooks/webhooks.service.js';
import { startHarness, type Harness } from './support/harness.js';

/** What a receiver does (the same 20 lines as docs/webhooks.md): HMAC-SHA256 over "<t>.<raw body>", any v1 may match. */
function verify(header: string, body: string, secret: string, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((p) => p.split('=', 2) as [string, string]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return parts.some(([k, v]) => k === 'v1' && v.length === 64 && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}

interface Received { path: string; headers: IncomingHttpHeaders; body: string; at: number }

let h: Harness;
let receiver: Server;
let base = '';
const received: Received[] = [];
const failuresLeft = new Map<string, number>();

before(async () => {
  h = await startHarness({ mail: true, env: { WEBHOOKS_ALLOW_LOCALHOST: 'true', WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_POLL_MS: '100', WEBHOOK_MAX_AGE_SECONDS: '12' } });
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body, at: Date.now() });
      const left = failuresLeft.get(path) ?? 0;
      if (path.startsWith('/fail') || left > 0) {
        failuresLeft.set(path, left - 1);
        res.writeHead(500).end('receiver is down');
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((ok) => receiver.listen(port, '127.0.0.1', () => ok()));
  base = `http://localhost:${port}`;
});
after(async () => {
  await new Promise<void>((ok) => receiver?.close(() => ok()));
  await h?.close();
});

const at = (path: string) => received.filter((r) => r.path === path);

async function endpoint(token: string, path: string, events = ['server', 'task', 'billing', 'usage']) {
  const r = await h.http('POST', '/api/v1/webhooks', { token, body: { url: `${base}${path}`, events } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.secret, /^whsec_/);
  return r.body as { id: string; secret: string };
}

describe('signed outbound webhooks', () => {
  test('private, loopback and link-local addresses are refused, also behind a name and after DNS changes', async () => {
    const a = await h.register('ssrf');
    for (const url of ['https://10.0.0.1/hook', 'https://192.168.1.5/', 'https://169.254.169.254/latest/meta-data', 'https://[fe80::1]/x', 'https://[::ffff:10.1.2.3]/', 'https://100.64.0.1/']) {
      const r = await h.http('POST', '/api/v1/webhooks', { token: a.token, body: { url, events: ['server'] } });
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'unsafe_url');
    }
    assert.match((await h.http('POST', '/api/v1/webhooks', { token: a.token, body: { url: 'http://example.com/hook', events: ['server'] } })).body.message, /https/);
    assert.equal((await h.http('POST', '/api/v1/webhooks', { token: a.token, body: { url: `${base}/ok`, events: ['nonsense'] } })).status, 400);

    // A name that resolves to a private address is refused; so is one that resolves differently at delivery time (rebinding).
    const svc = h.api.app.get(WebhooksService);
    const real = svc.resolver;
    let answer = '10.9.8.7';
    svc.resolver = async (host) => (host.endsWith('.rebind.test') ? [{ address: answer, family: 4 }] : real(host));
    try {
      const named = await h.http('POST', '/api/v1/webhooks', { token: a.token, body: { url: 'https://hooks.rebind.test/x', events: ['server'] } });
      assert.equal(named.body.code, 'unsafe_url');
      assert.match(named.body.message, /10\.9\.8\.7/);
      answer = '93.184.216.34';
      const ok = await h.http('POST', '/api/v1/webhooks', { token: a.token, body: { url: 'https://hooks.rebind.test/x', events: ['server'] } });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      answer = '127.0.0.1';
      const d = await h.http('POST', `/api/v1/webhooks/${ok.body.id}/test`, { token: a.token });
      const log = await waitFor('the refused attempt', async () => {
        const l = await h.http('GET', `/api/v1/webhooks/${ok.body.id}/deliveries`, { token: a.token });
        return l.body.find((x: { id: string; lastAttemptAt: string | null }) => x.id === d.body.id && x.lastAttemptAt);
      });
      assert.match(log.lastError, /127\.0\.0\.1 is a private, loopback/);
      assert.equal(log.lastStatusCode, null, 'no request was made');
    } finally {
      svc.resolver = real;
    }
  });

  test('every delivery is signed; each event arrives exactly once when the receiver answers 200', async () => {
    const a = await h.register('once');
    const ep = await endpoint(a.token, '/once');
    const pings = [];
    for (let i = 0; i < 3; i++) pings.push((await h.http('POST', `/api/v1/webhooks/${ep.id}/test`, { token: a.token })).body);
    // A real event: ordering a server changes its state.
    const order = await h.http('POST', '/api/v1/servers', { token: a.token, body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'hooked-1' } });
    assert.equal(order.status, 201);
    await waitFor('four deliveries', () => at('/once').length >= 4 && at('/once').some((r) => JSON.parse(r.body).type === 'server.state_changed'));
    await new Promise((r) => setTimeout(r, 1500)); // time for any duplicate to show up
    const got = at('/once');
    const ids = got.map((r) => r.headers['oblako-webhook-id']);
    assert.equal(new Set(ids).size, ids.length, `duplicates: ${ids.join(', ')}`);
    for (const p of pings) assert.equal(ids.filter((id) => id === p.eventId).length, 1);
    for (const r of got) {
      assert.equal(verify(String(r.headers['oblako-signature']), r.body, ep.secret), true, 'signature verifies');
      assert.equal(verify(String(r.headers['oblako-signature']), r.body, 'whsec_someone-else'), false);
      assert.equal(verify(String(r.headers['oblako-signature']), r.body.replace('"', ' "'), ep.secret), false, 'a changed body does not verify');
      const body = JSON.parse(r.body);
      assert.equal(body.id, r.headers['oblako-webhook-id']);
      assert.match(String(r.headers['oblako-signature']), new RegExp(`^t=${r.headers['oblako-webhook-timestamp']},v1=[0-9a-f]{64}$`));
      assert.equal(body.tenantId, a.tenantId);
    }
    const change = JSON.parse(got.find((r) => JSON.parse(r.body).type === 'server.state_changed')!.body);
    assert.equal(change.data.serverId, order.body.id);
    assert.equal(change.data.hostname, 'hooked-1');
    const log = await h.http('GET', `/api/v1/webhooks/${ep.id}/deliveries`, { token: a.token });
    assert.ok(log.body.every((d: { state: string; lastStatusCode: number; attempts: number }) => d.state === 'succeeded' && d.lastStatusCode === 200 && d.attempts === 1), JSON.stringify(log.body));
  });

  test('a receiver answering 500 gets the event again later, with backoff; the log shows each attempt', async () => {
    const a = await h.register('retry');
    const ep = await endpoint(a.token, '/flaky');
    failuresLeft.set('/flaky', 2);
    const d = (await h.http('POST', `/api/v1/webhooks/${ep.id}/test`, { token: a.token })).body;
    await waitFor('the third attempt', () => at('/flaky').length >= 3, { timeoutMs: 20_000 });
    const tries = at('/flaky');
    assert.deepEqual(tries.map((r) => r.headers['oblako-webhook-id']), [d.eventId, d.eventId, d.eventId]);
    const gap1 = tries[1]!.at - tries[0]!.at;
    const gap2 = tries[2]!.at - tries[1]!.at;
    assert.ok(gap1 >= 900, `first retry after ${gap1} ms (base 1 s)`);
    assert.ok(gap2 >= 1800 && gap2 > gap1, `second retry after ${gap2} ms (2 s: the delay doubles)`);
    for (const r of tries) assert.equal(verify(String(r.headers['oblako-signature']), r.body, ep.secret), true);
    const done = await waitFor('the delivery to succeed', async () => {
      const l = await h.http('GET', `/api/v1/webhooks/${ep.id}/deliveries`, { token: a.token });
      return l.body.find((x: { id: string; state: string }) => x.id === d.id && x.state === 'succeeded');
    });
    assert.equal(done.attempts, 3);
    assert.equal(done.lastStatusCode, 200);
    const attempts = await h.ds.query('SELECT status_code FROM webhook_attempts WHERE delivery_id = $1 ORDER BY at', [d.id]);
    assert.deepEqual(attempts.map((x: { status_code: number }) => x.status_code), [500, 500, 200]);

    // Sent again on request: a new delivery of the same event.
    const again = await h.http('POST', `/api/v1/webhooks/deliveries/${d.id}/resend`, { token: a.token });
    assert.equal(again.status, 202);
    assert.notEqual(again.body.id, d.id);
    await waitFor('the resent event', () => at('/flaky').length >= 4);
    assert.equal(at('/flaky')[3]!.headers['oblako-webhook-id'], d.eventId);
  });

  test('rotating the secret keeps deliveries valid for receivers with the old or the new one', async () => {
    const a = await h.register('rotate');
    const ep = await endpoint(a.token, '/rotate');
    const rotated = await h.http('POST', `/api/v1/webhooks/${ep.id}/rotate-secret`, { token: a.token });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.secret, ep.secret);
    assert.ok(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now() > 23.9 * 3600_000);
    await h.http('POST', `/api/v1/webhooks/${ep.id}/test`, { token: a.token });
    await waitFor('the delivery after rotation', () => at('/rotate').length >= 1);
    const r = at('/rotate')[0]!;
    assert.equal(verify(String(r.headers['oblako-signature']), r.body, ep.secret), true, 'a receiver still on the old secret');
    assert.equal(verify(String(r.headers['oblako-signature']), r.body, rotated.body.secret), true, 'a receiver already on the new one');
    // Once the overlap is over, only the new secret signs.
    await h.ds.query(`UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`, [ep.id]);
    await h.http('POST', `/api/v1/webhooks/${ep.id}/test`, { token: a.token });
    await waitFor('the delivery after the overlap', () => at('/rotate').length >= 2);
    const late = at('/rotate')[1]!;
    assert.equal(verify(String(late.headers['oblako-signature']), late.body, ep.secret), false);
    assert.equal(verify(String(late.headers['oblako-signature']), late.body, rotated.body.secret), true);
    // The secrets are stored sealed.
    const [row] = await h.ds.query('SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1', [ep.id]);
    assert.equal(JSON.stringify(row).includes(rotated.body.secret.slice(6)), false);
  });

  test('an endpoint that keeps failing is turned off and its owners are told; other tenants see none of it', async () => {
    const a = await h.register('dead');
    const b = await h.register('dead-other');
    const ep = await endpoint(a.token, '/fail-always');
    await h.http('POST', `/api/v1/webhooks/${ep.id}/test`, { token: a.token });
    const off = await waitFor('the endpoint to be turned off', async () => {
      const e = await h.http('GET', `/api/v1/webhooks/${ep.id}`, { token: a.token });
      return e.body.enabled === false ? e.body : undefined;
    }, { timeoutMs: 40_000, intervalMs: 250 });
    assert.match(off.disabledReason, /every delivery failed/);
    const mail = await h.mail!.waitForMail(a.email, (m) => /webhook endpoint was turned off/.test(m.subject));
    assert.match(mail.text, /fail-always/);
    const notes = await h.http('GET', '/api/v1/notifications', { token: a.token });
    assert.ok(notes.body.items.some((n: { kind: string }) => n.kind === 'webhook.disabled'), JSON.stringify(notes.body));
    assert.equal((await h.http('POST', `/api/v1/webhooks/${ep.id}/test`, { token: a.token })).body.code, 'endpoint_disabled');

    assert.equal((await h.http('GET', `/api/v1/webhooks/${ep.id}`, { token: b.token })).status, 404);
    assert.equal((await h.http('GET', `/api/v1/webhooks/${ep.id}/deliveries`, { token: b.token })).status, 404);
    assert.deepEqual((await h.http('GET', '/api/v1/webhooks', { token: b.token })).body, []);
    const [d] = (await h.http('GET', `/api/v1/webhooks/${ep.id}/deliveries`, { token: a.token })).body;
    assert.equal((await h.http('POST', `/api/v1/webhooks/deliveries/${d.id}/resend`, { token: b.token })).status, 404);
    // A member may not manage webhooks.
    const member = await h.register('dead-member');
    await h.ds.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')`, [a.tenantId, member.userId]);
    assert.equal((await h.http('GET', '/api/v1/webhooks', { token: member.token, headers: { 'x-tenant-id': a.tenantId } })).status, 403);
  });
});
