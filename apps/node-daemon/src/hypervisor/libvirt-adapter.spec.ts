import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyLibvirtError, LibvirtHypervisor, toDomainState, type LvDomain, type LvHypervisor, type LvModule } from './libvirt-adapter.js';
import { HypervisorErrorCode } from './port.js';

/** A stand-in for the addon that counts connections and can drop one. */
function fakeAddon(opts: { openDelayMs?: number; failOpen?: boolean } = {}) {
  const stats = { opens: 0, closes: 0, dropNext: false };
  const domain: LvDomain = {
    create: async () => {},
    shutdown: async () => {},
    destroy: async () => {},
    undefine: async () => {},
    suspend: async () => {},
    resume: async () => {},
    getInfo: async () => ({ state: 1, maxMem: 0, memory: 0, nrVirtCpu: 1, cpuTime: 0 }),
    getName: async () => 'oblako-x',
    getXMLDesc: async () => '<domain/>',
  };
  class H implements LvHypervisor {
    async connectOpen() {
      await new Promise((r) => setTimeout(r, opts.openDelayMs ?? 0));
      if (opts.failOpen) throw new Error("Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory");
      stats.opens++;
    }
    async connectClose() {
      stats.closes++;
    }
    async connectListAllDomains() {
      return [domain];
    }
    async domainDefineXML() {
      return domain;
    }
    async domainLookupByName(name: string) {
      if (stats.dropNext) {
        stats.dropNext = false;
        throw new Error('internal error: client socket is closed');
      }
      if (name === 'missing') throw new Error("Domain not found: no domain with matching name 'missing'");
      return domain;
    }
    async nodeGetInfo() {
      return { memory: 2048 * 1024, cpus: 2 };
    }
  }
  const mod: LvModule = { Hypervisor: H };
  return { stats, load: async () => mod };
}

test('concurrent callers share one in-flight connect', async () => {
  const a = fakeAddon({ openDelayMs: 30 });
  const hv = new LibvirtHypervisor('qemu:///system', undefined, a.load);
  await Promise.all([hv.connect(), hv.state('x'), hv.list(), hv.capacity()]);
  assert.equal(a.stats.opens, 1);
});

test('a connection error reconnects once and retries once', async () => {
  const a = fakeAddon();
  const hv = new LibvirtHypervisor('qemu:///system', undefined, a.load);
  await hv.connect();
  a.stats.dropNext = true;
  assert.equal(await hv.state('x'), 'running');
  assert.equal(a.stats.opens, 2);
  assert.equal(await hv.state('missing'), 'missing');
  await hv.close();
  assert.equal(a.stats.closes, 1);
  await assert.rejects(hv.state('x'), /closed/);
});

test('an unreachable libvirt is reported with the URI', async () => {
  const hv = new LibvirtHypervisor('qemu:///system', undefined, fakeAddon({ failOpen: true }).load);
  await assert.rejects(hv.connect(), (err: Error & { code?: string }) => err.code === HypervisorErrorCode.Connection && /qemu:\/\/\/system/.test(err.message));
});

test('error classification and state mapping', () => {
  assert.equal(classifyLibvirtError(new Error('Requested operation is not valid: domain is not running')).code, HypervisorErrorCode.NotRunning);
  assert.equal(classifyLibvirtError(new Error('Requested operation is not valid: domain is already running')).code, HypervisorErrorCode.AlreadyRunning);
  assert.equal(classifyLibvirtError(new Error('Domain not found: no domain with matching uuid')).code, HypervisorErrorCode.NotFound);
  assert.equal(classifyLibvirtError(new Error('Cannot recv data: Connection reset by peer')).code, HypervisorErrorCode.Connection);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 0].map(toDomainState), ['running', 'running', 'paused', 'running', 'shutoff', 'crashed', 'paused', 'other']);
});
