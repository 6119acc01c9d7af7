import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '../config.js';
import { FakeHypervisor } from '../hypervisor/fake.js';
import { HypervisorError, HypervisorErrorCode } from '../hypervisor/port.js';
import { ExecError, type Exec } from './exec.js';
import { checkHost } from './checks.js';

test('host checks name exactly what is missing and how to get it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hc-'));
  try {
    const config = defineConfig({ nodeId: 'n1', natsUrl: 'nats://127.0.0.1:4222', libvirtUri: 'qemu:///system', domainType: 'qemu', dataDir: dir, netns: 'nope' });
    const missing = new Set(['genisoimage', 'qemu-img', 'nft']);
    const exec: Exec = async (file, args) => {
      if (missing.has(file)) throw new ExecError(file, args, 'ENOENT', `spawn ${file} ENOENT`);
      if (file === 'ip' && args[0] === 'netns') throw new ExecError(file, args, 1, 'Cannot open network namespace "nope"');
      return { stdout: '1\n', stderr: '' };
    };
    const hv = new FakeHypervisor();
    hv.failNext('capacity', new HypervisorError(HypervisorErrorCode.Connection, "Failed to connect socket to '/var/run/libvirt/libvirt-sock'"));
    const problems = await checkHost(config, hv, exec);
    const text = problems.map((p) => `${p.what} → ${p.fix}`).join('\n');
    assert.match(text, /libvirt at qemu:\/\/\/system is not reachable.*→ start libvirtd/);
    assert.match(text, /qemu-img is missing.*→ apt-get install qemu-utils/);
    assert.match(text, /genisoimage.*→ apt-get install genisoimage/);
    assert.match(text, /nft \(nftables.*→ apt-get install nftables/);
    assert.match(text, /network namespace nope does not exist.*→ ip netns add nope/);
    assert.doesNotMatch(text, /sysctl is missing|ip is missing/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
