import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { ADMIN, newEd25519Line, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let node: FakeNode;

before(async () => {
  h = await startHarness();
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
});
after(async () => {
  await node?.stop();
  await h?.close();
});

async function order(token: string, extra: Record<string, unknown> = {}) {
  return h.http('POST', '/api/v1/servers', {
    token,
    body: { planId: h.seed.planIds.small, imageId: h.seed.imageIds[0], locationId: h.seed.locationId, hostname: 'web-1.example.com', ...extra },
  });
}

async function waitState(token: string, id: string, state: string) {
  return waitFor(`server ${id} to be ${state}`, async () => {
    const r = await h.http('GET', `/api/v1/servers/${id}`, { token });
    return r.body.state === state && r.body.currentTask?.state !== 'queued' ? r.body : undefined;
  }, { timeoutMs: 5000, intervalMs: 10 });
}

describe('server lifecycle through the API with a simulated node', () => {
  test('order -> running -> stop -> start -> reboot -> delete, with 409 for forbidden transitions', async () => {
    const a = await h.register('life');
    const key = await h.http('POST', '/api/v1/ssh-keys', { token: a.token, body: { name: 'laptop', publicKey: await newEd25519Line() } });
    assert.equal(key.status, 201, JSON.stringify(key.body));

    const created = await order(a.token, { sshKeyIds: [key.body.id] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.state, 'provisioning');
    assert.equal(created.body.nodeId, h.seed.nodeId);
    assert.equal(created.body.addresses.length, 1);
    assert.match(created.body.addresses[0].address, /^192\.0\.2\.\d+$/);
    assert.notEqual(created.body.addresses[0].address, '192.0.2.1', 'the gateway is never handed out');
    const id = created.body.id;

    const running = await waitState(a.token, id, 'running');
    assert.equal(running.currentTask.op, 'create');
    assert.equal(running.currentTask.state, 'succeeded');
    const createCmd = node.received.find((c) => c.serverId === id && c.op === 'create');
    assert.ok(createCmd && createCmd.op === 'create');
    assert.deepEqual(createCmd.spec.sshKeys, [key.body.publicKey]);
    assert.equal(createCmd.spec.addresses[0]!.gateway, '192.0.2.1');

    const [timings] = await h.ds.query('SELECT timings FROM tasks WHERE id = $1', [running.currentTask.id]);
    for (const k of ['acceptedAt', 'dispatchedAt', 'firstProgressAt', 'daemonReceivedAt', 'hypervisorStartedAt', 'hypervisorDoneAt', 'daemonFinishedAt', 'resultSeenAt']) {
      assert.equal(typeof timings.timings[k], 'number', `timings.${k}`);
    }

    const startWhileRunning = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'start' } });
    assert.equal(startWhileRunning.status, 409);
    assert.equal(startWhileRunning.body.code, 'invalid_transition');
    assert.match(startWhileRunning.body.message, /Cannot start a server that is running/);

    const stop = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } });
    assert.equal(stop.status, 202, JSON.stringify(stop.body));
    assert.equal(stop.body.state, 'stopping');
    await waitState(a.token, id, 'stopped');

    const reboot = await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'reboot' } });
    assert.equal(reboot.status, 409);
    assert.match(reboot.body.message, /reboot is allowed only when it is running/);

    assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'start' } })).status, 202);
    await waitState(a.token, id, 'running');
    assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'reboot' } })).status, 202);
    await waitState(a.token, id, 'running');

    const tasks = await h.http('GET', `/api/v1/servers/${id}/tasks`, { token: a.token });
    assert.deepEqual(tasks.body.map((t: { op: string }) => t.op), ['reboot', 'start', 'stop', 'create']);

    const del = await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token });
    assert.equal(del.status, 202);
    assert.equal(del.body.state, 'deleting');
    await waitState(a.token, id, 'deleted');
    const list = await h.http('GET', '/api/v1/servers', { token: a.token });
    assert.equal(list.body.items.length, 0);
    const [n] = await h.ds.query('SELECT used_vcpus, used_memory_mib, used_disk_gib FROM nodes WHERE id = $1', [h.seed.nodeId]);
    assert.deepEqual(n, { used_vcpus: 0, used_memory_mib: 0, used_disk_gib: 0 });
    const ips = await h.ds.query('SELECT 1 FROM ip_addresses WHERE server_id = $1', [id]);
    assert.equal(ips.length, 0);
    const again = await h.http('DELETE', `/api/v1/servers/${id}`, { token: a.token });
    assert.equal(again.status, 409);
  });

  test('a failed create leaves the server in error with the reason on the task', async () => {
    const a = await h.register('fail');
    const failing = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, () => null);
    await node.stop();
    try {
      const created = await order(a.token, { hostname: 'broken' });
      await waitFor('command', () => failing.received.find((c) => c.serverId === created.body.id));
      const cmd = failing.received.find((c) => c.serverId === created.body.id)!;
      await failing.answer(cmd, { ok: false, error: { code: 'image_checksum', message: 'checksum mismatch' }, domainState: 'missing' });
      const s = await waitState(a.token, created.body.id, 'error');
      assert.equal(s.currentTask.state, 'failed');
      assert.match(s.currentTask.error, /checksum mismatch/);
    } finally {
      await failing.stop();
      node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
    }
  });

  test('events that do not match the contract or the node are refused', async () => {
    const a = await h.register('evil');
    const quiet = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId, () => null);
    await node.stop();
    try {
      const created = await order(a.token, { hostname: 'target' });
      const cmd = await waitFor('command', () => quiet.received.find((c) => c.serverId === created.body.id));
      // Another node claims the result: subject and payload name a node the task was not sent to.
      const other = '00000000-0000-4000-8000-000000000001';
      await quiet.answer(cmd, { ok: true }, other);
      // Subject says our node but the payload names another one.
      await quiet.publish(h.seed.nodeId, 'task.result', { v: 1, taskId: cmd.taskId, serverId: cmd.serverId, nodeId: other, op: 'create', ok: true, domainState: 'running', timings: { receivedAt: 1, finishedAt: 2 }, at: 3 });
      // Not the contract at all.
      await quiet.publish(h.seed.nodeId, 'task.result', { hello: 'world' });
      await new Promise((r) => setTimeout(r, 300));
      const s = await h.http('GET', `/api/v1/servers/${created.body.id}`, { token: a.token });
      assert.equal(s.body.state, 'provisioning');
      // The real node's answer still works afterwards.
      await quiet.answer(cmd, { ok: true });
      await waitState(a.token, created.body.id, 'running');
    } finally {
      await quiet.stop();
      node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
    }
  });

  test('the list pages with a cursor, newest first', async () => {
    const a = await h.register('pages');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await order(a.token, { hostname: `p${i}` })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await h.http('GET', `/api/v1/servers${q}`, { token: a.token });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...page.body.items.map((s: { id: string }) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    const bad = await h.http('GET', '/api/v1/servers?cursor=nonsense', { token: a.token });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_cursor');
  });

  test('search by host name or the start of an address, sort by name or state, cursors bound to their sort, own team only', async () => {
    const a = await h.register('search');
    const b = await h.register('search-other');
    const names = ['db-2.example.com', 'web-1.example.com', 'Alpha.example.com', 'web-3.example.com', 'cache-1.example.com'];
    const made: { id: string; hostname: string; addresses: { address: string }[] }[] = [];
    for (const n of names) {
      const r = await order(a.token, { hostname: n.toLowerCase() });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      made.push(r.body);
    }
    const theirs = await order(b.token, { hostname: 'web-9.example.com' });
    assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
    const list = async (token: string, query: string) => {
      const r = await h.http('GET', `/api/v1/servers?${query}`, { token });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { items: { id: string; hostname: string; state: string }[]; nextCursor: string | null };
    };
    const hostnames = (p: { items: { hostname: string }[] }) => p.items.map((s) => s.hostname);

    // Part of a host name, any case; the other team's web-9 never shows.
    assert.deepEqual(hostnames(await list(a.token, 'q=WEB&sort=name')), ['web-1.example.com', 'web-3.example.com']);
    // LIKE wildcards are literal: "%" and "_" match nothing here (no host name or address has them).
    assert.deepEqual(hostnames(await list(a.token, 'q=%25')), []);
    assert.deepEqual(hostnames(await list(a.token, 'q=_')), []);
    assert.deepEqual(hostnames(await list(a.token, 'q=he-1')), ['cache-1.example.com']);
    assert.deepEqual(hostnames(await list(a.token, 'q=nothing-like-this')), []);
    // The start of an address finds that server; the middle of one does not.
    const addr = made[2]!.addresses[0]!.address;
    assert.deepEqual(hostnames(await list(a.token, `q=${encodeURIComponent(addr)}`)), ['alpha.example.com']);
    assert.ok(!hostnames(await list(a.token, `q=${encodeURIComponent(addr.slice(1))}`)).includes('alpha.example.com'), 'the middle of an address is not its start');
    const other = theirs.body.addresses[0].address as string;
    assert.deepEqual(hostnames(await list(a.token, `q=${encodeURIComponent(other)}`)), [], "another team's address finds nothing");

    // Name order, both ways, paged two at a time: every server once, in order.
    const walk = async (query: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await list(a.token, `${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...hostnames(page));
        cursor = page.nextCursor;
      } while (cursor);
      return seen;
    };
    const sorted = names.map((n) => n.toLowerCase()).sort();
    assert.deepEqual(await walk('sort=name'), sorted);
    assert.deepEqual(await walk('sort=name&order=desc'), [...sorted].reverse());
    assert.deepEqual(await walk('sort=created&order=asc'), names.map((n) => n.toLowerCase()));

    // State order: stop one; ascending, "running" comes before "stopped".
    await waitState(a.token, made[0]!.id, 'running');
    for (const m of made.slice(1)) await waitState(a.token, m.id, 'running');
    const stop = await h.http('POST', `/api/v1/servers/${made[0]!.id}/actions`, { token: a.token, body: { action: 'stop' } });
    assert.equal(stop.status, 202, JSON.stringify(stop.body));
    await waitState(a.token, made[0]!.id, 'stopped');
    const byState = await walk('sort=state');
    assert.equal(byState.length, 5);
    assert.equal(byState[byState.length - 1], 'db-2.example.com', 'running before stopped');
    const desc = await walk('sort=state&order=desc');
    assert.equal(desc[0], 'db-2.example.com');
    // Lifecycle order (SERVER_STATE_ORDER), not the alphabet: a broken server (as a failed task leaves it) comes
    // after the stopped one, where the alphabet would put "error" first. Paged one at a time, so the rank is in the cursor.
    await h.ds.query(`UPDATE servers SET state = 'error', state_reason = 'test: a failed rebuild' WHERE id = $1`, [made[4]!.id]);
    const lifecycle = async (query: string) => {
      const seen: { hostname: string; state: string }[] = [];
      let cursor: string | null = null;
      do {
        const page = await list(a.token, `${query}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.items.map((x) => ({ hostname: x.hostname, state: x.state })));
        cursor = page.nextCursor;
      } while (cursor);
      return seen;
    };
    const states = (await lifecycle('sort=state')).map((x) => x.state);
    assert.deepEqual(states, ['running', 'running', 'running', 'stopped', 'error'], 'running, then stopped, then error');
    assert.deepEqual((await lifecycle('sort=state&order=desc')).map((x) => x.state), ['error', 'stopped', 'running', 'running', 'running']);
    // Within one state: oldest first (created_at), so the three running ones keep their order.
    assert.deepEqual((await lifecycle('sort=state')).slice(0, 3).map((x) => x.hostname), ['web-1.example.com', 'alpha.example.com', 'web-3.example.com']);

    // A cursor from one order is refused for another, with the reason.
    const first = await list(a.token, 'sort=name&limit=2');
    assert.ok(first.nextCursor);
    for (const q of [`sort=created&cursor=${first.nextCursor}`, `sort=name&order=desc&cursor=${first.nextCursor}`]) {
      const r = await h.http('GET', `/api/v1/servers?${q}`, { token: a.token });
      assert.equal(r.status, 400, q);
      assert.equal(r.body.code, 'invalid_cursor');
      assert.match(r.body.message, /belongs to sort=name&order=asc/);
    }
    // ... and one from a search for another search (or none, or none for one): the keys only mean "after this
    // row" among the rows that search selects. Case and spaces do not make another search.
    const searched = await list(a.token, 'q=web&sort=name&limit=1');
    assert.ok(searched.nextCursor);
    for (const [q, belongs, not] of [
      [`q=db&sort=name&cursor=${searched.nextCursor}`, 'the search "web"', 'the search "db"'],
      [`sort=name&cursor=${searched.nextCursor}`, 'the search "web"', 'no search'],
      [`q=web&sort=name&cursor=${first.nextCursor}`, 'no search', 'the search "web"'],
    ] as const) {
      const r = await h.http('GET', `/api/v1/servers?${q}`, { token: a.token });
      assert.equal(r.status, 400, q);
      assert.equal(r.body.code, 'invalid_cursor');
      assert.equal(r.body.message, `This cursor belongs to ${belongs}, not ${not}; start again without a cursor when the search changes.`);
    }
    const same = await list(a.token, `q=%20WEB%20&sort=name&limit=1&cursor=${searched.nextCursor}`);
    assert.deepEqual(hostnames(same), ['web-3.example.com'], 'the same search, in other case and with spaces, goes on');
    const forged = Buffer.from(JSON.stringify({ s: 'name', o: 'asc', q: '', f: '', k: ["x'; DROP TABLE servers; --", 'not-a-uuid'] })).toString('base64url');
    const f = await h.http('GET', `/api/v1/servers?sort=name&cursor=${forged}`, { token: a.token });
    assert.equal(f.status, 400);
    assert.equal(f.body.code, 'invalid_cursor');

    // Bad input names the field.
    const badSort = await h.http('GET', '/api/v1/servers?sort=price', { token: a.token });
    assert.equal(badSort.status, 400);
    assert.match(JSON.stringify(badSort.body), /sort must be one of created, name, state/);
    const badOrder = await h.http('GET', '/api/v1/servers?order=up', { token: a.token });
    assert.equal(badOrder.status, 400);
    assert.match(JSON.stringify(badOrder.body), /order must be one of asc, desc/);
    const long = await h.http('GET', `/api/v1/servers?q=${'a'.repeat(254)}`, { token: a.token });
    assert.equal(long.status, 400);
    assert.match(JSON.stringify(long.body), /q must be at most 253 characters/);

    // Staff search the same way across teams.
    const staffToken = await h.login(ADMIN.email, ADMIN.password);
    const staff = await h.http('GET', '/api/v1/admin/servers?q=web-&sort=name&limit=100', { token: staffToken });
    assert.equal(staff.status, 200, JSON.stringify(staff.body));
    const staffNames = staff.body.items.map((s: { hostname: string }) => s.hostname);
    for (const n of ['web-1.example.com', 'web-3.example.com', 'web-9.example.com']) assert.ok(staffNames.includes(n), n);
    assert.deepEqual(staffNames, [...staffNames].sort());
    // A staff cursor is bound to the filters too: one from tenant A's servers does not walk tenant B's.
    const staffFirst = await h.http('GET', `/api/v1/admin/servers?tenantId=${a.tenantId}&sort=name&limit=1`, { token: staffToken });
    assert.equal(staffFirst.status, 200, JSON.stringify(staffFirst.body));
    assert.ok(staffFirst.body.nextCursor);
    const crossed = await h.http('GET', `/api/v1/admin/servers?tenantId=${b.tenantId}&sort=name&limit=1&cursor=${staffFirst.body.nextCursor}`, { token: staffToken });
    assert.equal(crossed.status, 400, JSON.stringify(crossed.body));
    assert.match(crossed.body.message, /belongs to other filters/);
    const onward = await h.http('GET', `/api/v1/admin/servers?tenantId=${a.tenantId}&sort=name&limit=1&cursor=${staffFirst.body.nextCursor}`, { token: staffToken });
    assert.equal(onward.status, 200, JSON.stringify(onward.body));
    assert.equal(onward.body.items[0].hostname, 'cache-1.example.com');
  });
});

describe('server-sent events', () => {
  test("a tenant's stream carries its own server changes and nothing of other tenants", async () => {
    const a = await h.register('sse-a');
    const b = await h.register('sse-b');
    const open = async (token: string) => {
      const ctrl = new AbortController();
      const res = await fetch(`${h.url}/api/v1/servers/events`, { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = res.body!.getReader();
      let text = '';
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            text += new TextDecoder().decode(value);
          }
        } catch {
          // aborted
        }
      })();
      return { text: () => text, close: () => ctrl.abort() };
    };
    const sa = await open(a.token);
    const sb = await open(b.token);
    try {
      const created = await order(a.token, { hostname: 'live' });
      await waitFor('a running event on A\'s stream', () => sa.text().includes(`"serverId":"${created.body.id}","state":"running"`), { timeoutMs: 5000 });
      assert.match(sa.text(), /event: server/);
      assert.equal(sb.text().includes(created.body.id), false);
    } finally {
      sa.close();
      sb.close();
    }
  });
});

describe('resilience', () => {
  test('the API recreates its event consumer when it is deleted under it', async () => {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const { connect } = await import('@nats-io/transport-node');
    const { TEST_NATS_URL } = await import('@oblako/testing');
    const { subjects } = await import('@oblako/contracts');
    const s = subjects(h.config.natsSubjectPrefix);
    const nc = await connect({ servers: TEST_NATS_URL });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(s.eventStream, s.apiEventConsumer);
      const a = await h.register('phoenix');
      const created = await order(a.token, { hostname: 'phoenix' });
      await waitFor('the server to run after the consumer came back', async () => {
        const r = await h.http('GET', `/api/v1/servers/${created.body.id}`, { token: a.token });
        return r.body.state === 'running';
      }, { timeoutMs: 15000, intervalMs: 100 });
    } finally {
      await nc.close();
    }
  });
});
