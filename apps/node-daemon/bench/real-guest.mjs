// One real guest through the daemon on qemu:///system: a private libvirtd in a network namespace
// of its own (tools/hypervisor/netns-libvirtd.sh), the test guest (tools/guest-image), real NATS.
// node apps/node-daemon/bench/real-guest.mjs [runs=1] [cpuQuotaPercent=100]   (root; after build)
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness, spec, command } from '../dist/src/test/harness.js';
import { createLogger } from '../dist/src/log.js';

const root = new URL('../../../', import.meta.url).pathname;
const runs = Number(process.argv[2] ?? 1);
const quota = Number(process.argv[3] ?? 100);
const manifest = JSON.parse(readFileSync(join(root, '.data/guest-image/manifest.json'), 'utf8'));
const ns = `obd${randomBytes(3).toString('hex')}`;
const tools = join(root, 'tools/hypervisor/netns-libvirtd.sh');
const env = { ...process.env, OBLAKO_LIBVIRT_PRIVATE: '1' };
execFileSync(tools, ['start', ns], { env, stdio: 'inherit' });
const uri = execFileSync(tools, ['uri', ns], { env, encoding: 'utf8' }).trim();
const dataDir = mkdtempSync(join(tmpdir(), 'oblako-real-'));
const now = () => performance.timeOrigin + performance.now();
const inNs = (...a) => execFileSync('ip', ['netns', 'exec', ns, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let h;
try {
  h = await Harness.start(
    { libvirtUri: uri, domainType: 'qemu', provisioning: 'full', netns: ns, dataDir, stopGraceSeconds: 10, logLevel: 'info',
      directKernel: { kernel: manifest.kernel, initrd: manifest.initrd, cmdline: manifest.cmdline } },
    { logger: createLogger('warn') },
    { eventStream: true },
  );
  const image = { id: randomUUID(), name: 'test guest', url: `file://${manifest.image}`, sha256: manifest.imageSha256, format: 'qcow2', cloudInit: 'nocloud' };
  const run = async (op, serverId, extra = {}) => {
    const c = command(h.nodeId, op, serverId, extra);
    const t0 = now();
    await h.publish(c);
    const r = await h.result(c.taskId, 120_000);
    return { r, t0, ms: now() - t0 };
  };
  const answers = async (addr, t0, timeoutMs = 60_000) => {
    for (;;) {
      try { return { body: inNs('curl', '-s', '--max-time', '0.3', `http://${addr}/hostname`).trim(), ms: now() - t0 }; } catch {}
      if (now() - t0 > timeoutMs) throw new Error(`${addr} did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  for (let i = 0; i < runs; i++) {
    const addr = `10.77.0.${10 + i}`;
    const sp = spec({ image, vcpus: 1, memoryMiB: 256, diskGiB: 1, cpuQuotaPercent: quota, netMbit: 100, hostname: `guest-${i}.example.com`,
      addresses: [{ family: 4, address: addr, prefix: 32, gateway: '169.254.0.1' }] });
    const { r, t0, ms } = await run('create', sp.serverId, { spec: sp });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const a = await answers(addr, t0);
    const steps = Object.entries(r.timings.steps).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
    console.log(`run ${i}: order→running ${ms.toFixed(0)} ms (daemon ${(r.timings.finishedAt - r.timings.receivedAt).toFixed(0)} ms: ${steps}); order→guest answering ${a.ms.toFixed(0)} ms, hostname "${a.body}"`);
    if (i === runs - 1) {
      const tap = execFileSync('node', ['-e', `import('${root}apps/node-daemon/dist/src/naming.js').then(m=>console.log(m.tapName('${sp.serverId}')))`], { encoding: 'utf8' }).trim();
      console.log('tc:', inNs('tc', 'class', 'show', 'dev', tap).trim());
      const xml = await h.daemon.hypervisor.xml(`oblako-${sp.serverId}`);
      console.log('live xml:', (xml.match(/<quota>\d+<\/quota>|<total_iops_sec>\d+|<total_bytes_sec>\d+/g) ?? []).join(' '));
      let s = await run('stop', sp.serverId, { graceSeconds: 30 });
      console.log(`stop (ACPI): ${s.ms.toFixed(0)} ms, ${s.r.domainState}, steps ${JSON.stringify(s.r.timings.steps)}`);
      s = await run('start', sp.serverId);
      const a2 = await answers(addr, s.t0);
      console.log(`start: running after ${s.ms.toFixed(0)} ms, answering after ${a2.ms.toFixed(0)} ms`);
      s = await run('rebuild', sp.serverId, { spec: sp });
      const a3 = await answers(addr, s.t0);
      console.log(`rebuild: ok=${s.r.ok} running after ${s.ms.toFixed(0)} ms, answering after ${a3.ms.toFixed(0)} ms (same address)`);
      s = await run('reboot', sp.serverId);
      console.log(`reboot: ok=${s.r.ok} ${s.ms.toFixed(0)} ms, steps ${JSON.stringify(s.r.timings.steps)}`);
    }
  }
  for (const d of await h.daemon.hypervisor.list()) {
    const id = d.name.replace(/^oblako-/, '');
    const { r } = await run('delete', id);
    console.log(`delete ${id}: ok=${r.ok}`);
  }
  console.log('left in netns:', inNs('ip', '-o', 'link').split('\n').filter((l) => /: o[bi][0-9a-f]/.test(l)).length, 'taps/ifbs;', inNs('ip', 'route').trim().split('\n').filter((l) => l.startsWith('10.77.')).length, 'routes');
} finally {
  await h?.stop();
  execFileSync(tools, ['delete', ns], { env, stdio: 'inherit' });
  rmSync(dataDir, { recursive: true, force: true });
}
