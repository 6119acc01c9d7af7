import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheus, promValue, waitFor, type PromSample } from '@oblako/testing';
import { parseListen } from '../config.js';
import { command, Harness, spec } from './harness.js';

describe('the daemon\'s /metrics', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ metricsListen: { host: '127.0.0.1', port: 0 } }, {}, { eventStream: true });
  });
  after(async () => {
    await h.stop();
  });

  async function scrape(): Promise<PromSample[]> {
    const r = await fetch(h.daemon.metricsUrl!);
    assert.equal(r.status, 200);
    return parsePrometheus(await r.text());
  }

  test('listens on 127.0.0.1 only and serves nothing but GET /metrics', async () => {
    assert.match(h.daemon.metricsUrl!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.equal((await fetch(h.daemon.metricsUrl!.replace('/metrics', '/'))).status, 404);
    const s = await scrape();
    assert.ok((promValue(s, 'oblako_daemon_process_resident_memory_bytes') ?? 0) > 0);
  });

  test('a command shows in the command histogram by op and outcome, its libvirt calls by call', async () => {
    const before = await scrape();
    const calls = (s: PromSample[], call: string) => promValue(s, 'oblako_daemon_libvirt_call_duration_seconds_count', { call, outcome: 'ok' }) ?? 0;
    const sp = spec();
    const ok = command(h.nodeId, 'create', sp.serverId, { spec: sp });
    await h.publish(ok);
    assert.equal((await h.result(ok.taskId)).ok, true);
    const bad = command(h.nodeId, 'start', spec().serverId);
    await h.publish(bad);
    assert.equal((await h.result(bad.taskId)).ok, false, 'start of a server this node does not have fails');
    const after = await waitFor('both commands counted', async () => {
      const s = await scrape();
      return (promValue(s, 'oblako_daemon_command_duration_seconds_count', { op: 'start', outcome: 'failed' }) ?? 0) >= 1 ? s : undefined;
    });
    assert.equal(promValue(after, 'oblako_daemon_command_duration_seconds_count', { op: 'create', outcome: 'succeeded' }), 1);
    assert.equal(promValue(after, 'oblako_daemon_command_duration_seconds_count', { op: 'start', outcome: 'failed' }), 1);
    assert.ok(calls(after, 'define') >= calls(before, 'define') + 1, 'the create defined a domain');
    assert.ok(calls(after, 'start') >= calls(before, 'start') + 1, 'and started it');
    for (const x of after) assert.doesNotMatch(Object.values(x.labels).join(' '), new RegExp(sp.serverId), 'no server id in a label');
  });

  test('heartbeats are counted and the domains on the node shown by state', async () => {
    const s0 = await scrape();
    await h.daemon.heartbeat();
    const s1 = await scrape();
    assert.ok(promValue(s1, 'oblako_daemon_heartbeats_total')! > (promValue(s0, 'oblako_daemon_heartbeats_total') ?? 0));
    assert.ok(Math.abs(promValue(s1, 'oblako_daemon_last_heartbeat_timestamp_seconds')! - Date.now() / 1000) < 5);
    assert.equal(promValue(s1, 'oblako_daemon_domains', { state: 'running' }), 1, 'the server created above');
  });
});

test('METRICS_LISTEN: host:port, [v6]:port or off; anything else is refused with the form to use', () => {
  const problems: string[] = [];
  assert.deepEqual(parseListen('127.0.0.1:9465', problems), { host: '127.0.0.1', port: 9465 });
  assert.deepEqual(parseListen('[::1]:9000', problems), { host: '::1', port: 9000 });
  assert.equal(parseListen('off', problems), undefined);
  assert.deepEqual(problems, []);
  for (const bad of ['9465', 'example.com:9465', '127.0.0.1:99999', '127.0.0.1']) parseListen(bad, problems);
  assert.equal(problems.length, 4);
  assert.match(problems[0]!, /such as 127\.0\.0\.1:9465/);
});
