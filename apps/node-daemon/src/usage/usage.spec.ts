import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { DeliverPolicy } from '@nats-io/jetstream';
import { EventKind, subjects as makeSubjects, UsageEventSchema, type Subjects, type UsageSample } from '@oblako/contracts';
import { PrivateNats, uniqueSubjectPrefix, waitFor } from '@oblako/testing';
import { execProgram } from '../host/exec.js';
import { createLogger } from '../log.js';
import { FakeHypervisor } from '../hypervisor/fake.js';
import { domainName, tapName } from '../naming.js';
import { command, Harness } from '../test/harness.js';
import { domainCountersOf, parseDomstats, qemuPidDir, TapCounterReader } from './counters.js';
import { domainDelta, tapDelta } from './sampler.js';

const ip = (args: string[]) => execProgram('ip', args);

describe('usage deltas', () => {
  it("finds QEMU's pid files beside a private libvirtd's socket, and in /run/libvirt/qemu for the system one", () => {
    assert.equal(qemuPidDir('qemu:///system'), '/run/libvirt/qemu');
    assert.equal(qemuPidDir('qemu:///system?socket=/var/lib/oblako-hv/ns1/run/libvirt-sock'), '/var/lib/oblako-hv/ns1/run/qemu');
    assert.equal(qemuPidDir('qemu+unix:///system?no_verify=1&socket=%2Ftmp%2Fhv%2Flibvirt-sock'), '/tmp/hv/qemu');
    assert.equal(qemuPidDir('test:///default'), '/run/libvirt/qemu');
  });

  it('a counter that continues counts the difference; a new instance or a counter that went down counts its whole value', () => {
    const a = { instance: '7', cpuNs: 100, diskReadBytes: 10, diskWriteBytes: 20, diskReadOps: 1, diskWriteOps: 2 };
    assert.deepEqual(domainDelta(a, { ...a, cpuNs: 150, diskWriteBytes: 25 }), { ...a, cpuNs: 50, diskReadBytes: 0, diskWriteBytes: 5, diskReadOps: 0, diskWriteOps: 0 });
    assert.deepEqual(domainDelta(a, { ...a, instance: '8', cpuNs: 500 }), { ...a, instance: '8', cpuNs: 500 });
    assert.deepEqual(domainDelta({ ...a, instance: undefined }, { ...a, instance: undefined, cpuNs: 5 }).cpuNs, 5);
    assert.deepEqual(tapDelta({ instance: '3', rxBytes: 10, txBytes: 10 }, { instance: '3', rxBytes: 15, txBytes: 11 }), { rxBytes: 5, txBytes: 1 });
    assert.deepEqual(tapDelta({ instance: '3', rxBytes: 10, txBytes: 10 }, { instance: '4', rxBytes: 2, txBytes: 3 }), { rxBytes: 2, txBytes: 3 });
    assert.deepEqual(tapDelta(undefined, { instance: '4', rxBytes: 2, txBytes: 3 }), { rxBytes: 2, txBytes: 3 });
  });

  it('reads CPU, every block device and the guest-reported memory from virsh domstats', () => {
    const parsed = parseDomstats(
      "Domain: 'oblako-1'\n  state.state=1\n  cpu.time=123456\n  balloon.available=1000\n  balloon.unused=400\n  block.count=2\n  block.0.rd.reqs=3\n  block.0.rd.bytes=4096\n  block.0.wr.reqs=5\n  block.0.wr.bytes=8192\n  block.1.rd.reqs=1\n  block.1.rd.bytes=512\n\nDomain: 'other'\n  cpu.time=1\n",
    );
    assert.equal(parsed.size, 2);
    assert.deepEqual(domainCountersOf(parsed.get('oblako-1')!), { cpuNs: 123456, diskReadBytes: 4608, diskWriteBytes: 8192, diskReadOps: 4, diskWriteOps: 5, memoryBytes: 600 * 1024 });
    assert.equal(domainCountersOf(parsed.get('other')!).memoryBytes, undefined);
  });
});

/** Every usage sample in the event stream (what the API would read), once per id; a repeated id must carry the same numbers. */
async function storedSamples(natsUrl: string, s: Subjects, nodeId: string): Promise<Map<string, UsageSample>> {
  const nc = await connect({ servers: natsUrl });
  try {
    const js = jetstream(nc);
    const c = await js.consumers.get(s.eventStream, { deliver_policy: DeliverPolicy.All });
    const out = new Map<string, UsageSample>();
    for (;;) {
      const batch = await c.fetch({ max_messages: 100, expires: 1000 });
      let n = 0;
      for await (const m of batch) {
        n++;
        if (m.subject !== s.nodeEvent(nodeId, EventKind.Usage)) continue;
        const parsed = UsageEventSchema.safeParse(m.json());
        assert.ok(parsed.success, `a usage event the API can read: ${parsed.error?.message}`);
        const e = parsed.data;
        for (const x of e.samples) {
          const seen = out.get(x.id);
          if (seen) assert.deepEqual(seen, x, 'a repeated sample id carries the same numbers');
          out.set(x.id, x);
        }
      }
      if (n === 0) return out;
    }
  } finally {
    await nc.close();
  }
}

/** The MAC address of a device in a network namespace. */
async function macOf(ns: string, dev: string): Promise<string> {
  const [link] = JSON.parse((await execProgram('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])).stdout) as { address: string }[];
  return link!.address;
}

/** A "tap" with real kernel counters: one end of a veth pair named like the server's tap in namespace A, the other end in B. */
class VethTap {
  readonly a = `oua${randomUUID().slice(0, 8)}`;
  readonly b = `oub${randomUUID().slice(0, 8)}`;
  constructor(readonly serverId: string) {}
  async create(): Promise<void> {
    await ip(['netns', 'add', this.a]).catch(() => undefined);
    await ip(['netns', 'add', this.b]).catch(() => undefined);
    const tap = tapName(this.serverId);
    await ip(['-n', this.a, 'link', 'add', tap, 'type', 'veth', 'peer', 'name', 'peer0', 'netns', this.b]);
    for (const [ns, dev, addr] of [[this.a, tap, '10.201.0.1/30'], [this.b, 'peer0', '10.201.0.2/30']]) {
      await execProgram('ip', ['netns', 'exec', ns, 'sysctl', '-q', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
      await ip(['-n', ns, 'addr', 'add', addr, 'dev', dev]);
      await ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
    // Each end knows the other's MAC for good, so the kernel sends no ARP on this link. Without it, the
    // kernel's delayed neighbour probe (one 42-byte request and one 42-byte reply, about 5 s after a
    // connection) moves the counters on its own: one landing after the daemon's last reading and before
    // the test reads the kernel's counters made the totals 42 bytes short each way (a CI failure). The
    // daemon lost nothing then (its next reading counts those bytes); the test compared a moving counter.
    await ip(['-n', this.a, 'neigh', 'replace', '10.201.0.2', 'lladdr', await macOf(this.b, 'peer0'), 'dev', tap, 'nud', 'permanent']);
    await ip(['-n', this.b, 'neigh', 'replace', '10.201.0.1', 'lladdr', await macOf(this.a, tap), 'dev', 'peer0', 'nud', 'permanent']);
  }
  async remove(): Promise<void> {
    await ip(['-n', this.a, 'link', 'del', tapName(this.serverId)]).catch(() => undefined);
  }
  async destroy(): Promise<void> {
    await ip(['netns', 'del', this.a]).catch(() => undefined);
    await ip(['netns', 'del', this.b]).catch(() => undefined);
  }
  /** Move traffic both ways: a TCP client in A sends `kib` KiB to a server in B, which answers with twice as much. */
  async traffic(kib = 64): Promise<void> {
    const server = `const s=require('net').createServer((c)=>{c.on('data',()=>{});c.on('end',()=>c.end());c.write(Buffer.alloc(${kib * 2048}));}).listen(7777,'10.201.0.2',()=>console.log('up'));setTimeout(()=>s.close(),10000).unref();s.on('connection',()=>s.close());`;
    const client = `const c=require('net').connect(7777,'10.201.0.2',()=>{c.end(Buffer.alloc(${kib * 1024}));});let n=0;c.on('data',(d)=>n+=d.length);c.on('close',()=>{if(n!==${kib * 2048})process.exit(2)});`;
    const srv = spawn('ip', ['netns', 'exec', this.b, process.execPath, '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => srv.stdout.once('data', r));
    await execProgram('ip', ['netns', 'exec', this.a, process.execPath, '-e', client]);
    await new Promise((r) => (srv.exitCode !== null ? r(null) : srv.once('exit', r)));
  }
  /** The kernel's cumulative counters of the tap right now. */
  async counters(): Promise<{ rx: number; tx: number }> {
    const m = new Map();
    await new TapCounterReader(execProgram, this.a).read([this.serverId], m);
    return { rx: m.get(this.serverId).tap.rxBytes, tx: m.get(this.serverId).tap.txBytes };
  }
}

function sums(samples: Map<string, UsageSample>, serverId: string): { in: number; out: number; n: number } {
  let i = 0, o = 0, n = 0;
  for (const x of samples.values()) {
    if (x.serverId !== serverId) continue;
    i += x.netInBytes;
    o += x.netOutBytes;
    n++;
  }
  return { in: i, out: o, n };
}

const root = process.getuid?.() === 0;

describe('usage sampler (real tap counters, real NATS)', { skip: !root && 'needs root for network namespaces' }, () => {
  let dataDir: string;
  before(async () => (dataDir = await mkdtemp(join(tmpdir(), 'oblako-usage-'))));
  after(async () => rm(dataDir, { recursive: true, force: true }));

  it('counts every byte once across a daemon restart and a counter reset at a stop', async () => {
    const serverId = randomUUID();
    const tap = new VethTap(serverId);
    const hv = new FakeHypervisor();
    await hv.define(`<domain><name>${domainName(serverId)}</name></domain>`);
    await hv.start(domainName(serverId));
    const readers = [new TapCounterReader(execProgram, tap.a)];
    const cfg = { usageIntervalMs: 150, dataDir, stopGraceSeconds: 1 };
    const h = await Harness.start(cfg, { hypervisor: hv, usageReaders: readers }, { eventStream: true });
    const { s, nodeId } = h;
    try {
      await tap.create();
      await tap.traffic();
      // the daemon stops (its last samples are on disk or sent) and a new one takes over the same files
      await h.daemon.stop();
      await tap.traffic();
      h.daemon = await (await import('../daemon.js')).startDaemon(h.config, { hypervisor: hv, usageReaders: readers, logger: (await import('../log.js')).silentLogger });
      await tap.traffic();
      // a stop: the meter reads the tap first; then the tap is made anew (its counters start at zero)
      await h.publish(command(nodeId, 'stop', serverId));
      const stopResult = await waitFor('stop result', () => h.events.find((e) => e.kind === 'task.result' && e.data.op === 'stop')?.data, { timeoutMs: 10_000 });
      assert.equal(stopResult.ok, true);
      const beforeReset = await tap.counters();
      await tap.remove();
      await tap.create();
      await h.publish(command(nodeId, 'start', serverId));
      await waitFor('start result', () => h.events.find((e) => e.kind === 'task.result' && e.data.op === 'start')?.data, { timeoutMs: 10_000 });
      await tap.traffic();
      await new Promise((r) => setTimeout(r, 600));
      await h.daemon.stop();
      const afterReset = await tap.counters();
      const expected = { in: beforeReset.tx + afterReset.tx, out: beforeReset.rx + afterReset.rx };
      assert.ok(expected.in > 4 * 64 * 1024, `traffic moved (${expected.in} bytes to the guest)`);
      const got = sums(await storedSamples(h.config.natsUrl, s, nodeId), serverId);
      assert.ok(got.n >= 4, `several samples (${got.n})`);
      assert.deepEqual({ in: got.in, out: got.out }, expected);
    } finally {
      await h.stop();
      await tap.destroy();
    }
  });

  it('keeps the samples taken while NATS is down and sends them when it is back', async () => {
    const nats = await PrivateNats.start();
    const serverId = randomUUID();
    const tap = new VethTap(serverId);
    const hv = new FakeHypervisor();
    await hv.define(`<domain><name>${domainName(serverId)}</name></domain>`);
    await hv.start(domainName(serverId));
    const prefix = uniqueSubjectPrefix();
    const nc = await connect({ servers: nats.url });
    const ps = makeSubjects(prefix);
    await (await jetstreamManager(nc)).streams.add({ name: ps.eventStream, subjects: [ps.allEvents()], storage: StorageType.File });
    await nc.close();
    const h = await Harness.start({ natsUrl: nats.url, subjectPrefix: prefix, usageIntervalMs: 150, dataDir: await mkdtemp(join(dataDir, 'n-')) }, { hypervisor: hv, usageReaders: [new TapCounterReader(execProgram, tap.a)], logger: createLogger('error') });
    try {
      await tap.create();
      await tap.traffic(16);
      await waitFor('first samples', () => h.daemon.usage!.pending === 0 || undefined, { timeoutMs: 5000 });
      await nats.kill();
      await tap.traffic(128);
      await waitFor('samples held while NATS is down', () => h.daemon.usage!.pending >= 5 || undefined, { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 2000));
      await nats.up();
      await waitFor('held samples delivered', () => h.daemon.usage!.pending === 0 || undefined, { timeoutMs: 20_000, intervalMs: 100 });
      await h.daemon.stop();
      const c = await tap.counters();
      const got = sums(await storedSamples(nats.url, h.s, h.nodeId), serverId);
      assert.deepEqual({ in: got.in, out: got.out }, { in: c.tx, out: c.rx });
    } finally {
      await h.stop();
      await tap.destroy();
      await nats.stop();
    }
  });
});
