import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjects, WIRE_VERSION } from '@oblako/contracts';
import { parsePrometheus, promValue, TEST_NATS_URL, waitFor, type PromSample } from '@oblako/testing';
import { FakeNode } from './support/fake-node.js';
import { startHarness, type Harness } from './support/harness.js';

const TOKEN = randomBytes(24).toString('hex');
let h: Harness;
let node: FakeNode;
let nc: NatsConnection;

before(async () => {
  h = await startHarness({ env: { METRICS_TOKEN: TOKEN } });
  node = await FakeNode.start(h.config.natsSubjectPrefix, h.seed.nodeId);
  nc = await connect({ servers: TEST_NATS_URL });
});
after(async () => {
  await nc?.close();
  await node?.stop();
  await h?.close();
});

async function scrape(): Promise<PromSample[]> {
  const r = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

const count = (s: PromSample[], labels: Record<string, string>) => promValue(s, 'oblako_http_request_duration_seconds_count', labels) ?? 0;

describe('/metrics on the API', () => {
  test('answers only with the metrics token; a wrong or missing one is 401 and says what to send', async () => {
    const none = await h.http('GET', '/metrics');
    assert.equal(none.status, 401);
    assert.match(none.body.message, /Bearer <METRICS_TOKEN>/);
    const wrong = await h.http('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN.slice(1)}x` } });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(JSON.stringify(wrong.body), new RegExp(TOKEN));
    const s = await scrape();
    assert.ok((promValue(s, 'oblako_api_process_resident_memory_bytes') ?? 0) > 0, 'process defaults are there');
  });

  test('a request raises its route template\'s count, never a series per raw path', async () => {
    const a = await h.register('metrics-http');
    const before = await scrape();
    const labels = { method: 'GET', route: '/api/v1/servers/:id', status: '404' };
    const n0 = count(before, labels);
    for (const id of ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003']) {
      assert.equal((await h.http('GET', `/api/v1/servers/${id}`, { token: a.token })).status, 404);
    }
    await h.http('GET', `/no/such/path/${randomBytes(4).toString('hex')}`);
    const after = await scrape();
    assert.equal(count(after, labels), n0 + 3);
    assert.ok(count(after, { method: 'GET', route: 'unmatched', status: '404' }) >= 1);
    const routes = new Set(after.filter((x) => x.name === 'oblako_http_request_duration_seconds_count').map((x) => x.labels.route));
    for (const r of routes) assert.doesNotMatch(r!, /[0-9a-f]{8}-[0-9a-f]{4}/, `a raw id in a route label: ${r}`);
  });

  test('a finished task appears in the task histogram with its op and outcome', async () => {
    const a = await h.register('metrics-task');
    const before = await scrape();
    const created = (s: PromSample[]) => promValue(s, 'oblako_task_duration_seconds_count', { op: 'create', outcome: 'succeeded' }) ?? 0;
    const stopped = (s: PromSample[]) => promValue(s, 'oblako_task_duration_seconds_count', { op: 'stop', outcome: 'succeeded' }) ?? 0;
    const id = await h.orderRunning(a.token, 'metrics-1');
    assert.equal((await h.http('POST', `/api/v1/servers/${id}/actions`, { token: a.token, body: { action: 'stop' } })).status, 202);
    await h.waitIdle(a.token, id, 'stopped');
    const after = await scrape();
    assert.equal(created(after), created(before) + 1);
    assert.equal(stopped(after), stopped(before) + 1);
    const sum = promValue(after, 'oblako_task_duration_seconds_sum', { op: 'create', outcome: 'succeeded' })!;
    assert.ok(sum > 0 && sum < 60, `create took ${sum} s in all`);
  });

  test('a node whose heartbeats stop shows a growing heartbeat age; a heartbeat brings it back to about zero', async () => {
    const hb = async () => {
      nc.publish(subjects(h.config.natsSubjectPrefix).nodeHeartbeat(h.seed.nodeId), JSON.stringify({
        v: WIRE_VERSION, nodeId: h.seed.nodeId, at: Date.now(), daemonVersion: 'test', hypervisor: 'test', capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 500 }, domains: [],
      }));
      await nc.flush();
    };
    const age = (s: PromSample[]) => promValue(s, 'oblako_node_heartbeat_age_seconds', { node: h.seed.nodeId });
    await hb();
    const fresh = await waitFor('the heartbeat to be stored', async () => {
      const a = age(await scrape());
      return a !== undefined && a < 1 ? a : undefined;
    });
    assert.ok(fresh >= 0);
    await new Promise((r) => setTimeout(r, 2200));
    const stale = age(await scrape())!;
    assert.ok(stale >= 2 && stale < 10, `age after 2.2 s of silence: ${stale}`);
    await hb();
    await waitFor('the age to drop again', async () => ((age(await scrape()) ?? 99) < 1 ? true : undefined));
  });

  test('outbox lag: a command that cannot be published shows its age; JetStream consumers show their pending counts', async () => {
    const s0 = await scrape();
    assert.equal(promValue(s0, 'oblako_outbox_unpublished'), 0);
    assert.equal(promValue(s0, 'oblako_outbox_oldest_unpublished_seconds'), 0);
    // a row the relay has claimed (a publish in flight that never ends) stays unpublished: its age is the lag
    const [task] = await h.ds.query(`SELECT id FROM tasks ORDER BY created_at LIMIT 1`);
    await h.ds.query(
      `INSERT INTO outbox (task_id, subject, payload, created_at, claimed_until) VALUES ($1, 'x.y', '{}', now() - interval '42 seconds', now() + interval '1 hour')`,
      [task.id],
    );
    const s1 = await scrape();
    assert.equal(promValue(s1, 'oblako_outbox_unpublished'), 1);
    const lag = promValue(s1, 'oblako_outbox_oldest_unpublished_seconds')!;
    assert.ok(lag >= 42 && lag < 60, `lag ${lag}`);
    await h.ds.query(`DELETE FROM outbox WHERE subject = 'x.y'`);

    const s = subjects(h.config.natsSubjectPrefix);
    const events = promValue(s1, 'oblako_nats_consumer_pending_messages', { stream: s.eventStream, consumer: s.apiEventConsumer });
    assert.equal(events, 0, 'the API has read every event');
    const nodeCmds = promValue(s1, 'oblako_nats_consumer_pending_messages', { stream: s.commandStream, consumer: s.nodeConsumer(h.seed.nodeId) });
    assert.equal(nodeCmds, 0, 'the node has taken every command');
  });

  test('usage ingest: samples counted by result, a repeat counted as duplicate', async () => {
    const a = await h.register('metrics-usage');
    const id = await h.orderRunning(a.token, 'metrics-usage-1');
    const before = await scrape();
    const v = (s: PromSample[], result: string) => promValue(s, 'oblako_usage_samples_total', { result }) ?? 0;
    const now = Date.now();
    const sample = {
      id: randomUUID(), serverId: id, from: now - 60_000, to: now, cpuNs: 1, diskReadBytes: 0, diskWriteBytes: 0, diskReadOps: 0, diskWriteOps: 0,
      netInBytes: 10, netOutBytes: 20,
    };
    for (let i = 0; i < 2; i++) await node.publish(h.seed.nodeId, 'usage', { v: WIRE_VERSION, nodeId: h.seed.nodeId, at: Date.now(), samples: [sample] });
    const after = await waitFor('both usage events ingested', async () => {
      const s = await scrape();
      return v(s, 'inserted') + v(s, 'duplicate') >= v(before, 'inserted') + v(before, 'duplicate') + 2 ? s : undefined;
    });
    assert.equal(v(after, 'inserted'), v(before, 'inserted') + 1);
    assert.equal(v(after, 'duplicate'), v(before, 'duplicate') + 1);
    assert.equal(promValue(after, 'oblako_usage_events_total'), (promValue(before, 'oblako_usage_events_total') ?? 0) + 2);
  });
});

test('/metrics is off (404, saying how to turn it on) without METRICS_TOKEN', async () => {
  const off = await startHarness();
  try {
    const r = await off.http('GET', '/metrics', { headers: { authorization: 'Bearer anything-at-all-here-123456' } });
    assert.equal(r.status, 404);
    assert.match(r.body.message, /METRICS_TOKEN/);
  } finally {
    await off.close();
  }
});
