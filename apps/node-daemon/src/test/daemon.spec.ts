import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { commandStreamDefinition, DomainStateEventSchema, HeartbeatSchema, nodeConsumerDefinition, TaskProgressEventSchema, TaskResultEventSchema } from '@oblako/contracts';
import { waitFor } from '@oblako/testing';
import { domainName } from '../naming.js';
import { FakeHypervisor } from '../hypervisor/fake.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../daemon.js';
import { silentLogger } from '../log.js';
import { command, Harness, spec } from './harness.js';

describe('node daemon on libvirt test:///default and real NATS', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({}, {}, { eventStream: true });
  });
  after(async () => {
    await h.stop();
  });

  test('create defines and starts a domain with the spec’s vCPU and memory, reporting progress and timings', async () => {
    const sp = spec({ vcpus: 3, memoryMiB: 384 });
    const cmd = command(h.nodeId, 'create', sp.serverId, { spec: sp });
    await h.publish(cmd);
    const r = await h.result(cmd.taskId);
    TaskResultEventSchema.parse(r);
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.domainState, 'running');
    const t = r.timings as Record<string, number> & { steps: Record<string, number> };
    assert.ok(t.receivedAt <= t.hypervisorStartedAt! && t.hypervisorStartedAt! <= t.hypervisorDoneAt! && t.hypervisorDoneAt! <= t.finishedAt);
    assert.ok(t.steps.define! >= 0 && t.steps.start! >= 0, JSON.stringify(t.steps));
    assert.notEqual(Math.floor(t.receivedAt), t.receivedAt, 'timings carry fractional milliseconds');
    const progress = h.events.filter((e) => e.kind === 'task.progress' && e.data.taskId === cmd.taskId);
    assert.ok(progress.length >= 2);
    for (const p of progress) TaskProgressEventSchema.parse(p.data);
    const xml = await h.daemon.hypervisor.xml(domainName(sp.serverId));
    assert.match(xml, /<vcpu[^>]*>3<\/vcpu>/);
    assert.match(xml, /<memory unit='KiB'>393216<\/memory>/);
    const st = await waitFor('domain.state running', () =>
      h.events.find((e) => e.kind === 'domain.state' && e.data.serverId === sp.serverId && e.data.state === 'running'),
    );
    DomainStateEventSchema.parse(st.data);
  });

  test('the same create delivered twice creates one domain and is answered twice with the one result', async () => {
    const sp = spec();
    const cmd = command(h.nodeId, 'create', sp.serverId, { spec: sp });
    await h.publish(cmd);
    await h.publish(cmd);
    await waitFor('two results', () => h.results(cmd.taskId).length === 2);
    const [a, b] = h.results(cmd.taskId).map((e) => e.data);
    assert.equal(a!.ok, true);
    assert.deepEqual(b, a, 'the second delivery gets the stored result');
    assert.ok('define' in (a!.timings as { steps: object }).steps);
    const named = (await h.daemon.hypervisor.list()).filter((d) => d.name === domainName(sp.serverId));
    assert.equal(named.length, 1);
  });

  test('a new attempt of a task is a new command: it runs', async () => {
    const sp = spec();
    const create = command(h.nodeId, 'create', sp.serverId, { spec: sp });
    await h.publish(create);
    await h.result(create.taskId);
    const first = command(h.nodeId, 'reboot', sp.serverId);
    await h.publish(first);
    await h.result(first.taskId);
    await h.publish({ ...first, attempt: 2 });
    await waitFor('the second attempt', () => h.results(first.taskId).find((e) => e.data.attempt === 2));
    const [r1, r2] = h.results(first.taskId).map((e) => e.data);
    assert.equal(r1!.attempt, 1);
    assert.notDeepEqual(r2!.timings, r1!.timings, 'attempt 2 ran on its own');
  });

  test('stop, start, reboot, suspend, unsuspend, rebuild and delete (twice) each do their job', async () => {
    const sp = spec();
    const name = domainName(sp.serverId);
    const run = async (op: string, extra: Record<string, unknown> = {}) => {
      const c = command(h.nodeId, op, sp.serverId, extra);
      await h.publish(c);
      const r = await h.result(c.taskId);
      TaskResultEventSchema.parse(r);
      return r;
    };
    assert.equal((await run('create', { spec: sp })).ok, true);
    let r = await run('stop', { graceSeconds: 5 });
    assert.equal(r.ok, true);
    assert.equal(r.domainState, 'shutoff');
    assert.equal(await h.daemon.hypervisor.state(name), 'shutoff');
    r = await run('stop');
    assert.equal(r.ok, true, 'stopping a stopped server is fine');
    r = await run('start');
    assert.equal(r.domainState, 'running');
    r = await run('reboot');
    assert.equal(r.ok, true);
    assert.equal(r.domainState, 'running');
    assert.ok('stop' in (r.timings as { steps: object }).steps && 'start' in (r.timings as { steps: object }).steps, 'reboot = stop + start');
    r = await run('suspend');
    assert.equal(r.domainState, 'shutoff');
    r = await run('unsuspend');
    assert.equal(r.domainState, 'running');
    r = await run('rebuild', { spec: { ...sp, vcpus: 1, memoryMiB: 128 } });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.domainState, 'running');
    assert.match(await h.daemon.hypervisor.xml(name), /<vcpu[^>]*>1<\/vcpu>/);
    r = await run('resize', { spec: { ...sp, vcpus: 4, memoryMiB: 512 } });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.domainState, 'running', 'a running server runs again after a resize');
    assert.match(await h.daemon.hypervisor.xml(name), /<vcpu[^>]*>4<\/vcpu>/);
    r = await run('delete');
    assert.equal(r.ok, true);
    assert.equal(r.domainState, 'missing');
    assert.equal(await h.daemon.hypervisor.state(name), 'missing');
    r = await run('delete');
    assert.equal(r.ok, true, 'delete is safe to repeat');
    r = await run('start');
    assert.equal(r.ok, false);
    assert.equal((r.error as { code: string }).code, 'domain_missing');
  });

  test('an invalid command is reported once and never redelivered', async () => {
    const taskId = randomUUID();
    const serverId = randomUUID();
    await h.publish({ v: 1, taskId, serverId, nodeId: h.nodeId, attempt: 1, issuedAt: Date.now(), op: 'create', spec: { hostname: 'bad_host!' } } as Record<string, unknown>);
    const r = await h.result(taskId);
    TaskResultEventSchema.parse(r);
    assert.equal(r.ok, false);
    assert.equal((r.error as { code: string }).code, 'invalid_command');
    assert.match((r.error as { message: string }).message, /spec/);
    await h.publishRaw('start', '{not json');
    // a command for another node on our subject
    const other = command('someone-else', 'start', serverId);
    await h.publish(other);
    const wrong = await h.result(other.taskId);
    assert.equal((wrong.error as { code: string }).code, 'wrong_node');
    await waitFor('nothing pending on the consumer', async () => {
      const ci = await h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId));
      return ci.num_ack_pending === 0 && ci.num_pending === 0 && ci.num_redelivered === 0;
    });
    await new Promise((res) => setTimeout(res, 600));
    assert.equal(h.results(taskId).length, 1, 'reported exactly once');
    const ci = await h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId));
    assert.equal(ci.num_redelivered, 0);
  });

  test('heartbeats carry capacity and the node’s domains with their states', async () => {
    const sp = spec();
    const cmd = command(h.nodeId, 'create', sp.serverId, { spec: sp });
    await h.publish(cmd);
    await h.result(cmd.taskId);
    const hb = await waitFor('a heartbeat listing the server', () =>
      h.events.find((e) => e.kind === 'hb' && (e.data.domains as { serverId: string }[]).some((d) => d.serverId === sp.serverId)),
    );
    const parsed = HeartbeatSchema.parse(hb.data);
    assert.ok(parsed.capacity.vcpus > 0 && parsed.capacity.memoryMiB > 0);
    assert.equal(parsed.domains.find((d) => d.serverId === sp.serverId)?.state, 'running');
    assert.ok(parsed.domains.every((d) => d.serverId !== 'test'), 'only our own domains');
  });
});

describe('resilience', () => {
  test('a command consumer deleted under the daemon is recreated and commands flow again', async () => {
    const h = await Harness.start({}, {}, { eventStream: true });
    try {
      await h.jsm.consumers.delete(h.s.commandStream, h.s.nodeConsumer(h.nodeId));
      await waitFor('the consumer to be recreated', () => h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId)).then(() => true, () => false));
      const sp = spec();
      const cmd = command(h.nodeId, 'create', sp.serverId, { spec: sp });
      await h.publish(cmd);
      assert.equal((await h.result(cmd.taskId, 15_000)).ok, true);
    } finally {
      await h.stop();
    }
  });
});

describe('a command is never run twice', () => {
  test('redelivered by JetStream while it runs (ack wait ran out), and sent again after it finished: one run, the stored result each time', async () => {
    const fake = new FakeHypervisor();
    const h = await Harness.start({}, { hypervisor: fake }, {
      eventStream: true,
      // a consumer with a 1 s ack wait, made before the daemon (which only creates what is missing)
      beforeDaemon: async (hh) => {
        await hh.jsm.streams.add(commandStreamDefinition(hh.s));
        await hh.jsm.consumers.add(hh.s.commandStream, { ...nodeConsumerDefinition(hh.s, hh.nodeId), ack_wait: 1_000_000_000 });
      },
    });
    try {
      const sp = spec();
      const name = domainName(sp.serverId);
      const create = command(h.nodeId, 'create', sp.serverId, { spec: sp });
      await h.publish(create);
      assert.equal((await h.result(create.taskId)).ok, true);
      const startsBefore = fake.calls.filter((c) => c === `start:${name}`).length;

      fake.startDelayMs = 2500; // longer than the ack wait, with no keep-alive in between: JetStream redelivers
      const reboot = command(h.nodeId, 'reboot', sp.serverId);
      await h.publish(reboot);
      await waitFor('the reboot answered again', () => h.results(reboot.taskId).length >= 2, { timeoutMs: 10_000 });
      await waitFor('nothing left to ack', async () => (await h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId))).num_ack_pending === 0);
      const redelivered = (await h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId))).delivered.consumer_seq - 2;
      assert.ok(redelivered >= 1, `JetStream redelivered the reboot (${redelivered} time(s))`);
      fake.startDelayMs = 0;

      // and once more, long after it finished
      const n = h.results(reboot.taskId).length;
      await h.publish(reboot);
      await waitFor('one more result', () => h.results(reboot.taskId).length === n + 1);
      const [a, ...again] = h.results(reboot.taskId).map((e) => e.data);
      assert.equal(a!.ok, true);
      for (const r of again) assert.deepEqual(r, a, 'every copy gets the stored result');
      assert.equal(fake.calls.filter((x) => x === `start:${name}`).length, startsBefore + 1, 'the guest was rebooted once');
      assert.equal(fake.calls.filter((x) => x === `shutdown:${name}`).length, 1);
      await waitFor('nothing left to ack', async () => (await h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId))).num_ack_pending === 0);
    } finally {
      await h.stop();
    }
  });
});

describe('a command finished by a process that died is not run again by the next one', () => {
  test('the next daemon process answers a copy of a finished reboot with the stored result; the guest is rebooted once', async () => {
    const fake = new FakeHypervisor();
    const h = await Harness.start({ dataDir: mkdtempSync(join(tmpdir(), 'oblako-finished-')) }, { hypervisor: fake }, { eventStream: true });
    try {
      const sp = spec();
      const name = domainName(sp.serverId);
      const create = command(h.nodeId, 'create', sp.serverId, { spec: sp });
      await h.publish(create);
      assert.equal((await h.result(create.taskId)).ok, true);
      const reboot = command(h.nodeId, 'reboot', sp.serverId);
      await h.publish(reboot);
      const first = await h.result(reboot.taskId);
      assert.equal(first.ok, true);
      const starts = fake.calls.filter((c) => c === `start:${name}`).length;
      // a new process on the same node (same data folder, same hypervisor), as after a SIGKILL before the ack
      await h.daemon.stop();
      h.daemon = await startDaemon(h.config, { logger: silentLogger, hypervisor: fake });
      await h.publish(reboot);
      await waitFor('the copy answered', () => h.results(reboot.taskId).length === 2, { timeoutMs: 10_000 });
      assert.deepEqual(h.results(reboot.taskId)[1]!.data, first, 'the stored result, not a new run');
      assert.equal(fake.calls.filter((c) => c === `start:${name}`).length, starts, 'the guest was not rebooted again');
      assert.equal(fake.calls.filter((c) => c === `shutdown:${name}`).length, 1);
      // a new task still runs
      const again = command(h.nodeId, 'reboot', sp.serverId);
      await h.publish(again);
      assert.equal((await h.result(again.taskId)).ok, true);
      assert.equal(fake.calls.filter((c) => c === `shutdown:${name}`).length, 2);
    } finally {
      await h.stop();
    }
  });
});

describe('graceful shutdown', () => {
  test('stop() finishes the in-flight command, publishes its result and acks it', async () => {
    const fake = new FakeHypervisor();
    fake.acpi = 'delayed';
    fake.acpiDelayMs = 400;
    const h = await Harness.start({}, { hypervisor: fake });
    try {
      const sp = spec();
      const create = command(h.nodeId, 'create', sp.serverId, { spec: sp });
      await h.publish(create);
      await h.result(create.taskId);
      const stop = command(h.nodeId, 'stop', sp.serverId, { graceSeconds: 30 });
      await h.publish(stop);
      await waitFor('stop in progress', () => h.events.find((e) => e.kind === 'task.progress' && e.data.taskId === stop.taskId && e.data.stage === 'stop'));
      const t0 = performance.now();
      await h.daemon.stop();
      const stoppedTook = performance.now() - t0;
      const r = await h.result(stop.taskId, 1000);
      assert.equal(r.ok, true);
      assert.equal(r.domainState, 'shutoff');
      assert.ok(stoppedTook >= 200, `stop() waited for the in-flight command (${stoppedTook.toFixed(0)} ms)`);
      assert.equal(fake.connected, false, 'libvirt connection closed');
      const ci = await h.jsm.consumers.info(h.s.commandStream, h.s.nodeConsumer(h.nodeId));
      assert.equal(ci.num_ack_pending, 0);
      assert.equal(ci.num_pending, 0);
    } finally {
      await h.stop();
    }
  });
});
