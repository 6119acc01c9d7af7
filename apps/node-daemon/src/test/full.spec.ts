import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskResultEventSchema } from '@oblako/contracts';
import { domainName, tapName } from '../naming.js';
import { command, Harness, spec } from './harness.js';

const isRoot = process.getuid?.() === 0;

/**
 * Full provisioning (disk, seed, tap, limits) wired into the daemon, on libvirt's test driver: the
 * domain is not really booted, but every host artefact is real (qemu-img overlay, genisoimage seed,
 * tap and routes in a network namespace this test makes).
 */
describe('full provisioning through the daemon (test:///default, own netns)', { skip: !isRoot && 'needs root (taps, netns)' }, () => {
  let h: Harness;
  let dir: string;
  const ns = `obf${randomBytes(4).toString('hex')}`;
  let image: { id: string; name: string; url: string; sha256: string; format: 'qcow2'; cloudInit: 'nocloud' };

  before(async () => {
    execFileSync('ip', ['netns', 'add', ns]);
    dir = await mkdtemp(join(tmpdir(), 'oblako-full-'));
    const base = join(dir, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '64M']);
    image = { id: randomUUID(), name: 'base', url: pathToFileURL(base).href, sha256: createHash('sha256').update(readFileSync(base)).digest('hex'), format: 'qcow2', cloudInit: 'nocloud' };
    h = await Harness.start({ provisioning: 'full', netns: ns, dataDir: join(dir, 'data'), stopGraceSeconds: 1 }, {}, { eventStream: true });
  });
  after(async () => {
    await h?.stop();
    execFileSync('ip', ['netns', 'del', ns]);
    await rm(dir, { recursive: true, force: true });
  });

  const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  const run = async (op: string, serverId: string, extra: Record<string, unknown> = {}) => {
    const c = command(h.nodeId, op, serverId, extra);
    await h.publish(c);
    const r = TaskResultEventSchema.parse(await h.result(c.taskId, 20_000));
    return r;
  };

  test('create makes overlay, seed, tap, routes and source guard and defines the domain with the plan’s limits; rebuild keeps the address; delete removes everything, twice', async () => {
    const sp = spec({ image, diskGiB: 2, cpuQuotaPercent: 40, diskIops: 300, diskMBps: 20, netMbit: 50, addresses: [{ family: 4, address: '198.51.100.20', prefix: 32, gateway: '169.254.0.1' }] });
    const tap = tapName(sp.serverId);
    const disk = join(dir, 'data', 'disks', `${sp.serverId}.qcow2`);
    const seed = join(dir, 'data', 'seeds', `${sp.serverId}.iso`);

    let r = await run('create', sp.serverId, { spec: sp });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.domainState, 'running');
    for (const step of ['image', 'disk', 'seed', 'network', 'define', 'start']) assert.ok(step in r.timings.steps, `step ${step} timed`);
    assert.ok(existsSync(disk) && existsSync(seed));
    assert.match(inNs('ip', 'route', 'show', 'dev', tap), /198\.51\.100\.20/);
    // the source guard: from this tap only the server's own address (IPv4) / link-local and :: (IPv6)
    const guard = () => inNs('nft', 'list', 'chain', 'inet', 'oblako', `src_${tap}`);
    assert.match(guard(), /ip saddr 198\.51\.100\.20 return/);
    assert.match(guard(), /ip6 saddr \{ ::, fe80::\/10 \} return/);
    assert.match(guard(), /counter packets \d+ bytes \d+ drop/);
    assert.match(inNs('nft', 'list', 'chain', 'inet', 'oblako', 'prerouting'), /priority raw;[\s\S]*iifname vmap @taps/);
    const xml = await h.daemon.hypervisor.xml(domainName(sp.serverId));
    assert.match(xml, /<quota>40000<\/quota>/);
    assert.match(xml, /<total_iops_sec>300<\/total_iops_sec>/);
    assert.match(xml, /<total_bytes_sec>20000000<\/total_bytes_sec>/);
    assert.match(xml, new RegExp(`<target dev='${tap}'`));
    if (/<bandwidth>/.test(xml)) assert.match(xml, /<inbound average='6250'/);
    else {
      // tc mode (kernel without sfq/police): htb on the tap and on its ifb, at the plan's rate
      assert.ok('shaping' in r.timings.steps);
      assert.match(inNs('tc', 'class', 'show', 'dev', tap), /htb 1:1 .*rate 50Mbit/);
      assert.match(inNs('tc', 'class', 'show', 'dev', `oi${tap.slice(2)}`), /htb 1:1 .*rate 50Mbit/);
      assert.match(inNs('tc', 'filter', 'show', 'dev', tap, 'ingress'), /mirred/);
    }

    // redelivered create: nothing made twice
    r = await run('create', sp.serverId, { spec: sp });
    assert.equal(r.ok, true);
    assert.ok(!('define' in r.timings.steps) && !('disk' in r.timings.steps));

    // the tap vanishes (host reboot): start recreates it from the node's record
    await run('stop', sp.serverId, { graceSeconds: 1 });
    execFileSync('ip', ['-n', ns, 'link', 'del', 'dev', tap]);
    execFileSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'oblako']);
    r = await run('start', sp.serverId);
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.match(inNs('ip', 'route', 'show', 'dev', tap), /198\.51\.100\.20/);
    assert.match(guard(), /ip saddr 198\.51\.100\.20 return/, 'start recreates the source guard too');

    const before = execFileSync('stat', ['-c', '%i', disk], { encoding: 'utf8' });
    r = await run('rebuild', sp.serverId, { spec: sp });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.notEqual(execFileSync('stat', ['-c', '%i', disk], { encoding: 'utf8' }), before, 'a fresh disk');
    assert.match(inNs('ip', 'route', 'show', 'dev', tap), /198\.51\.100\.20/, 'same address');

    r = await run('resize', sp.serverId, { spec: { ...sp, diskGiB: 3, vcpus: 2, cpuQuotaPercent: 60 } });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal((JSON.parse(execFileSync('qemu-img', ['info', '--output=json', disk], { encoding: 'utf8' })) as Record<string, number>)['virtual-size'], 3 * 1024 ** 3);
    assert.match(await h.daemon.hypervisor.xml(domainName(sp.serverId)), /<quota>60000<\/quota>/);
    r = await run('resize', sp.serverId, { spec: { ...sp, diskGiB: 1 } });
    assert.equal(r.ok, false);
    assert.match(r.error!.message, /shrinking/);
    assert.equal(r.domainState, 'running', 'a refused resize leaves the server running');

    r = await run('delete', sp.serverId, { addresses: sp.addresses });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(await h.daemon.hypervisor.state(domainName(sp.serverId)), 'missing');
    assert.ok(!existsSync(disk) && !existsSync(seed));
    assert.doesNotMatch(inNs('ip', '-o', 'link'), new RegExp(tap));
    assert.doesNotMatch(inNs('ip', '-o', 'link'), new RegExp(`oi${tap.slice(2)}`));
    assert.doesNotMatch(inNs('ip', 'route'), /198\.51\.100\.20/);
    assert.doesNotMatch(inNs('nft', 'list', 'table', 'inet', 'oblako'), new RegExp(tap), 'no source guard left');
    r = await run('delete', sp.serverId, { addresses: sp.addresses });
    assert.equal(r.ok, true);
  });

  test('a bad image checksum fails the create with the reason and leaves no domain', async () => {
    const sp = spec({ image: { ...image, sha256: 'c'.repeat(64) } });
    const r = await run('create', sp.serverId, { spec: sp });
    assert.equal(r.ok, false);
    assert.match(r.error!.message, /expected c{64}/);
    assert.equal(await h.daemon.hypervisor.state(domainName(sp.serverId)), 'missing');
    await run('delete', sp.serverId);
  });
});
