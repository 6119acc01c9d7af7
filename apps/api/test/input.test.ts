import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_BODY_BYTES } from '@oblako/contracts';
import { SSH_KEYS } from './support/ssh-key-fixtures.js';
import { ADMIN, newEd25519Line, startHarness, type Harness, type HttpResult } from './support/harness.js';

let h: Harness;
let a: Awaited<ReturnType<Harness['register']>>;
let b: Awaited<ReturnType<Harness['register']>>;

before(async () => {
  h = await startHarness();
  a = await h.register('in-a');
  b = await h.register('in-b');
});
after(async () => {
  await h?.close();
});

const TABLES = ['servers', 'tasks', 'outbox', 'ip_addresses', 'ssh_keys', 'audit_log'];
async function snapshot() {
  return Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await h.count(t)] as const)));
}

function body(extra: Record<string, unknown> = {}) {
  return { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'ok-host', ...extra };
}

test('bad orders answer 400/404/413 with a message a person can act on, and change nothing', async () => {
  const before = await snapshot();
  const bKey = await h.http('POST', '/api/v1/ssh-keys', { token: b.token, body: { name: 'b', publicKey: await newEd25519Line() } });
  const afterKey = await snapshot();
  const cases: { name: string; status: number; code: string; message: RegExp; send: () => Promise<HttpResult> }[] = [
    { name: 'bad hostname', status: 400, code: 'validation_failed', message: /hostname: The label "-bad" may not start or end with a hyphen/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: body({ hostname: '-bad.example.com' }) }) },
    { name: 'hostname with underscore', status: 400, code: 'validation_failed', message: /may contain only letters, digits and hyphens/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: body({ hostname: 'my_host' }) }) },
    { name: 'unknown plan', status: 404, code: 'plan_not_found', message: /GET \/api\/v1\/plans/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: body({ planId: '00000000-0000-4000-8000-000000000000' }) }) },
    { name: 'plan id not a UUID', status: 400, code: 'validation_failed', message: /planId must be a plan id/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: body({ planId: 'small' }) }) },
    { name: "another tenant's SSH key", status: 404, code: 'ssh_key_not_found', message: /No SSH key with id/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: body({ sshKeyIds: [bKey.body.id] }) }) },
    { name: 'malformed JSON', status: 400, code: 'malformed_json', message: /not a valid JSON object/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, raw: '{"planId": "x",' }) },
    { name: 'oversized body', status: 413, code: 'payload_too_large', message: new RegExp(`limit of ${MAX_JSON_BODY_BYTES} bytes`), send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: body({ pad: 'x'.repeat(MAX_JSON_BODY_BYTES + 10) }) }) },
    { name: 'not JSON', status: 415, code: 'unsupported_media_type', message: /Content-Type: application\/json/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, raw: 'planId=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }) },
    { name: 'array body', status: 400, code: 'validation_failed', message: /must be a JSON object, not an array/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, raw: '[1, 2]' }) },
    { name: 'unknown field', status: 400, code: 'validation_failed', message: /unknown field "isAdmin"/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: body({ isAdmin: true }) }) },
    { name: 'missing fields', status: 400, code: 'validation_failed', message: /imageId must be an image id/, send: () => h.http('POST', '/api/v1/servers', { token: a.token, body: { planId: h.seed.planIds.small } }) },
    { name: 'unknown action', status: 400, code: 'validation_failed', message: /action must be one of start, stop, reboot/, send: () => h.http('POST', '/api/v1/servers/00000000-0000-4000-8000-000000000000/actions', { token: a.token, body: { action: 'explode' } }) },
    { name: 'bad id in path', status: 400, code: 'validation_failed', message: /must be a UUID/, send: () => h.http('GET', '/api/v1/servers/not-a-uuid', { token: a.token }) },
  ];
  for (const c of cases) {
    const r = await c.send();
    assert.equal(r.status, c.status, `${c.name}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, c.code, c.name);
    assert.equal(r.body.statusCode, c.status, c.name);
    assert.match(r.body.message, c.message, `${c.name}: ${r.body.message}`);
  }
  assert.equal(bKey.status, 201);
  assert.deepEqual(await snapshot(), afterKey, 'bad requests changed nothing');
  assert.equal(afterKey.ssh_keys, before.ssh_keys + 1);
});

test('SSH keys are checked as real public keys', async () => {
  const before = await h.count('ssh_keys');
  const weak = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'old', publicKey: SSH_KEYS.rsab1024.line } });
  assert.equal(weak.status, 400);
  assert.equal(weak.body.code, 'ssh_key_invalid');
  assert.match(weak.body.message, /1024 bits; at least 2048/);
  const junk = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'junk', publicKey: 'ssh-ed25519 AAAAnotakey' } });
  assert.equal(junk.status, 400);
  const ok = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'rsa', publicKey: SSH_KEYS.rsab2048.line } });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.fingerprint, SSH_KEYS.rsab2048.fingerprint);
  const dup = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'again', publicKey: SSH_KEYS.rsab2048.line } });
  assert.equal(dup.status, 409);
  assert.equal(await h.count('ssh_keys'), before + 1);
});

test('IP pools: overlapping blocks and gateways outside the block are refused', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const pool = (cidr: string, gateway: string) => h.http('POST', '/api/v1/admin/ip-pools', { token: staff, body: { locationId: h.seed.locationId, cidr, gateway } });
  const overlap = await pool('192.0.2.128/25', '192.0.2.129');
  assert.equal(overlap.status, 409);
  assert.equal(overlap.body.code, 'ip_pool_overlap');
  assert.match(overlap.body.message, /overlaps the existing pool 192\.0\.2\.0\/24/);
  const outside = await pool('198.51.100.0/24', '198.51.101.1');
  assert.equal(outside.status, 400);
  assert.equal(outside.body.code, 'gateway_outside_block');
  const hostBits = await pool('198.51.100.7/24', '198.51.100.1');
  assert.equal(hostBits.status, 400);
  assert.match(hostBits.body.message, /starts at 198\.51\.100\.0\/24/);
  const good = await pool('198.51.100.0/24', '198.51.100.1');
  assert.equal(good.status, 201, JSON.stringify(good.body));
  assert.equal(good.body.total, 253);
  const v6 = await pool('2001:db8::/64', '2001:db8::1');
  assert.equal(v6.status, 201, JSON.stringify(v6.body));
  const v6overlap = await pool('2001:db8::/48', '2001:db8::1');
  assert.equal(v6overlap.status, 409);
  // With an IPv6 pool in the location, a new server gets one address of each family.
  const dual = await h.http('POST', '/api/v1/servers', { token: a.token, body: body({ hostname: 'dual-stack' }) });
  assert.equal(dual.status, 201, JSON.stringify(dual.body));
  assert.deepEqual(dual.body.addresses.map((x: { family: number }) => x.family), [4, 6]);
  assert.equal(dual.body.addresses[1].address, '2001:db8::2');
  assert.equal(dual.body.addresses[1].prefix, 128);
  assert.equal(dual.body.addresses[1].gateway, '2001:db8::1');
});

test('staff register a node and get what the daemon needs', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const r = await h.http('POST', '/api/v1/admin/nodes', {
    token: staff,
    body: { name: 'hv-extra-1', locationId: h.seed.locationId, vcpus: 8, memoryMiB: 16384, diskGiB: 500 },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.daemon.nodeId, r.body.node.id);
  assert.equal(r.body.daemon.subjectPrefix, h.config.natsSubjectPrefix);
  assert.equal(r.body.daemon.natsUrl, h.config.natsUrl);
  assert.equal(r.body.node.state, 'pending', 'pending until its first heartbeat');
  const dup = await h.http('POST', '/api/v1/admin/nodes', { token: staff, body: { name: 'hv-extra-1', locationId: h.seed.locationId, vcpus: 8, memoryMiB: 16384, diskGiB: 500 } });
  assert.equal(dup.status, 409);
  // An unused node can be removed; its command consumer goes with it.
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { connect } = await import('@nats-io/transport-node');
  const { subjects } = await import('@oblako/contracts');
  const { TEST_NATS_URL } = await import('@oblako/testing');
  const s = subjects(h.config.natsSubjectPrefix);
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    assert.equal((await jsm.consumers.info(s.commandStream, s.nodeConsumer(r.body.node.id))).name, s.nodeConsumer(r.body.node.id));
    assert.equal((await h.http('DELETE', `/api/v1/admin/nodes/${r.body.node.id}`, { token: staff })).status, 204);
    await assert.rejects(jsm.consumers.info(s.commandStream, s.nodeConsumer(r.body.node.id)), /not found/i);
  } finally {
    await nc.close();
  }
  const busy = await h.http('DELETE', `/api/v1/admin/nodes/${h.seed.nodeId}`, { token: staff });
  assert.equal(busy.status, 409);
  assert.equal(busy.body.code, 'in_use');
});

test('a retried order with the same Idempotency-Key makes one server, even when the retries race', async () => {
  const c = await h.register('idem');
  const before = await h.count('servers');
  const send = (key: string, hostname = 'idem-1') =>
    h.http('POST', '/api/v1/servers', { token: c.token, headers: { 'idempotency-key': key }, body: body({ hostname }) });
  const results = await Promise.all([send('order-42'), send('order-42'), send('order-42'), send('order-42')]);
  for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
  assert.equal(await h.count('servers'), before + 1);
  const later = await send('order-42');
  assert.equal(later.body.id, results[0]!.body.id);
  const different = await send('order-42', 'other-host');
  assert.equal(different.status, 409);
  assert.equal(different.body.code, 'idempotency_key_reused');
  const bad = await h.http('POST', '/api/v1/servers', { token: c.token, headers: { 'idempotency-key': 'has space' }, body: body() });
  assert.equal(bad.status, 400);
  // Keys are per tenant: another tenant may use the same one.
  const other = await h.http('POST', '/api/v1/servers', { token: b.token, headers: { 'idempotency-key': 'order-42' }, body: body({ hostname: 'idem-1' }) });
  assert.equal(other.status, 201);
  assert.notEqual(other.body.id, results[0]!.body.id);
  assert.equal(await h.count('servers'), before + 2);
});

test('staff cap a tenant at N live servers; parallel orders cannot overshoot it', async () => {
  const q = await h.register('quota');
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const set = await h.http('PATCH', `/api/v1/admin/tenants/${q.tenantId}`, { token: staff, body: { serverLimit: 2 } });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal(set.body.serverLimit, 2);
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => h.http('POST', '/api/v1/servers', { token: q.token, body: body({ hostname: `q${i}` }) })));
  assert.equal(results.filter((r) => r.status === 201).length, 2);
  for (const r of results.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'quota_exceeded');
    assert.match(r.body.message, /at most 2 server\(s\)/);
  }
  const lift = await h.http('PATCH', `/api/v1/admin/tenants/${q.tenantId}`, { token: staff, body: { serverLimit: null } });
  assert.equal(lift.body.serverLimit, null);
  assert.equal((await h.http('POST', '/api/v1/servers', { token: q.token, body: body({ hostname: 'q-more' }) })).status, 201);
  assert.equal((await h.http('PATCH', `/api/v1/admin/tenants/${q.tenantId}`, { token: q.token, body: { serverLimit: 100 } })).status, 403);
});

test('staff manage the catalogue; customers see only active entries', async () => {
  const staff = await h.login(ADMIN.email, ADMIN.password);
  const plan = await h.http('POST', '/api/v1/admin/plans', { token: staff, body: { name: 'Tiny', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceMonthlyCents: 300 } });
  assert.equal(plan.status, 201, JSON.stringify(plan.body));
  assert.equal(plan.body.cpuQuotaPercent, 100);
  assert.equal(plan.body.currency, 'EUR');
  assert.equal((await h.http('POST', '/api/v1/admin/plans', { token: staff, body: { name: 'Tiny', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceMonthlyCents: 300 } })).body.code, 'duplicate');
  const badPlan = await h.http('POST', '/api/v1/admin/plans', { token: staff, body: { name: 'Bad', vcpus: 0, memoryMiB: 512, diskGiB: 10, priceMonthlyCents: 300 } });
  assert.equal(badPlan.status, 400);
  assert.match(badPlan.body.message, /vcpus must not be less than 1/);
  const customerPlans = async () => (await h.http('GET', '/api/v1/plans', { token: a.token })).body.map((p: { name: string }) => p.name);
  assert.ok((await customerPlans()).includes('Tiny'));
  const off = await h.http('PATCH', `/api/v1/admin/plans/${plan.body.id}`, { token: staff, body: { active: false } });
  assert.equal(off.status, 200);
  assert.equal((await customerPlans()).includes('Tiny'), false);
  assert.equal((await h.http('POST', '/api/v1/servers', { token: a.token, body: body({ planId: plan.body.id }) })).body.code, 'plan_not_found');
  assert.equal((await h.http('DELETE', `/api/v1/admin/plans/${plan.body.id}`, { token: staff })).status, 204);
  // A plan with servers cannot be deleted, only deactivated.
  const used = await h.http('DELETE', `/api/v1/admin/plans/${h.seed.planIds.small}`, { token: staff });
  assert.equal(used.status, 409);
  assert.equal(used.body.code, 'in_use');

  const image = await h.http('POST', '/api/v1/admin/images', {
    token: staff,
    body: { name: 'Rocky 9', osFamily: 'rocky', version: '9', url: 'https://images.example/rocky-9.qcow2', sha256: 'a'.repeat(64), format: 'qcow2' },
  });
  assert.equal(image.status, 201, JSON.stringify(image.body));
  const customerImage = (await h.http('GET', '/api/v1/images', { token: a.token })).body.find((i: { name: string }) => i.name === 'Rocky 9');
  assert.equal(customerImage.url, undefined, 'customers do not see where images come from');
  const badImage = await h.http('POST', '/api/v1/admin/images', { token: staff, body: { name: 'X', osFamily: 'x', version: '1', url: 'ftp://x/y', sha256: 'nothex', format: 'vmdk' } });
  assert.equal(badImage.status, 400);
  assert.deepEqual(badImage.body.details.map((d: { field: string }) => d.field).sort(), ['format', 'sha256', 'url']);

  const loc = await h.http('POST', '/api/v1/admin/locations', { token: staff, body: { code: 'ams1', name: 'Amsterdam 1', country: 'NL' } });
  assert.equal(loc.status, 201);
  const noNode = await h.http('POST', '/api/v1/servers', { token: a.token, body: body({ locationId: loc.body.id, hostname: 'nowhere' }) });
  assert.equal(noNode.status, 409);
  assert.equal(noNode.body.code, 'no_node_available', 'a location without nodes says so, not "no room"');
  assert.equal((await h.http('POST', '/api/v1/admin/locations', { token: staff, body: { code: 'AMS 1', name: 'x', country: 'nl' } })).status, 400);
});

test('every route that takes a body refuses deep nesting, NUL and lone surrogates with a 400 at the edge, before and after sign-in', async () => {
  const doc = (await h.http('GET', '/api/docs-json')).body as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
  const routes: { method: string; path: string }[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (op.requestBody) routes.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000') });
    }
  }
  assert.ok(routes.length >= 20, `the OpenAPI document lists ${routes.length} body routes`);
  const deep = '{"a":'.repeat(3000) + '1' + '}'.repeat(3000);
  const justDeepEnough = '{"a":'.repeat(33) + '1' + '}'.repeat(33); // 33 levels: one over the limit
  const payloads: { name: string; raw: string; code: string; message: RegExp }[] = [
    { name: '3,000 levels deep', raw: deep, code: 'json_too_deep', message: /more than 32 levels deep/ },
    { name: '33 levels deep', raw: justDeepEnough, code: 'json_too_deep', message: /more than 32 levels deep/ },
    { name: 'NUL in a string', raw: '{"email":"a\\u0000b@example.com","name":"x"}', code: 'invalid_text', message: /Field email contains a NUL character/ },
    { name: 'NUL in a nested string', raw: '{"x":{"y":["ok","a\\u0000"]}}', code: 'invalid_text', message: /Field x\.y\[1\] contains a NUL/ },
    { name: 'lone surrogate', raw: '{"email":"\\ud800@example.com","name":"x"}', code: 'invalid_text', message: /Field email contains a lone UTF-16 surrogate/ },
    { name: 'lone surrogate in a key', raw: '{"\\udc00":1}', code: 'invalid_text', message: /lone UTF-16 surrogate/ },
  ];
  const tables = await snapshot();
  const failures: string[] = [];
  for (const r of routes) {
    for (const p of payloads) {
      for (const token of [undefined, a.token]) {
        const res = await h.http(r.method, r.path, { token, raw: p.raw });
        if (res.status !== 400 || res.body?.code !== p.code || !p.message.test(res.body?.message ?? '')) {
          failures.push(`${r.method} ${r.path} ${p.name} ${token ? 'signed in' : 'anonymous'}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
      }
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${routes.length * payloads.length * 2} answers were not the edge's 400`);
  // A well-formed emoji (a surrogate pair) and 32 levels are fine: they reach the route's own validation.
  const emoji = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'laptop 😀', publicKey: await newEd25519Line() } });
  assert.equal(emoji.status, 201, JSON.stringify(emoji.body));
  const thirtyTwo = await h.http('POST', '/api/v1/api-tokens', { token: a.token, raw: '{"name":' + '{"a":'.repeat(31) + '1' + '}'.repeat(31) + '}' });
  assert.equal(thirtyTwo.status, 400);
  assert.equal(thirtyTwo.body.code, 'validation_failed', JSON.stringify(thirtyTwo.body));
  const query = await h.http('GET', '/api/v1/servers?cursor=a%00b', { token: a.token });
  assert.equal(query.status, 400);
  assert.match(query.body.message, /Query parameter cursor contains a NUL character/);
  const after = await snapshot();
  // the one accepted SSH key is the only change (its row and its audit entry)
  assert.deepEqual({ ...after, ssh_keys: after.ssh_keys - 1, audit_log: after.audit_log - 1 }, tables, 'refused requests changed nothing');
});

test('names made only of white space are refused with the field named', async () => {
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    ['POST', '/api/v1/api-tokens', { name: '   ' }, /name must say what the token is for/],
    ['POST', '/api/v1/ssh-keys', { name: ' \t ', publicKey: await newEd25519Line() }, /name must say whose or which key this is/],
  ];
  for (const [method, path, body, message] of cases) {
    const r = await h.http(method, path, { token: a.token, body });
    assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.message, message);
  }
  const reg = await h.http('POST', '/api/v1/auth/register', { body: { email: 'blank-team@example.com', password: 'correct horse battery', tenantName: '  ' } });
  assert.equal(reg.status, 400);
  assert.match(reg.body.message, /tenantName must name your organisation/);
  const plan = await h.http('POST', '/api/v1/admin/plans', { token: await h.login(ADMIN.email, ADMIN.password), body: { name: '  ', vcpus: 1, memoryMiB: 512, diskGiB: 10, priceMonthlyCents: 100 } });
  assert.equal(plan.status, 400, JSON.stringify(plan.body));
  assert.match(plan.body.message, /name must not be empty or only spaces/);
});
