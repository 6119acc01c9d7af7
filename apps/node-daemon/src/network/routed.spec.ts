import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { execProgram } from '../host/exec.js';
import { tapName } from '../naming.js';
import { loadConfig, validateConfig } from '../config.js';
import { checkAddress, planNetwork, RoutedNetwork } from './routed.js';

const addresses = [
  { family: 4 as const, address: '198.51.100.10', prefix: 32, gateway: '169.254.0.1' },
  { family: 6 as const, address: '2001:db8::10', prefix: 128, gateway: 'fe80::1' },
];

test('the plan: tap up, gateway on the tap, a route per address, forwarding, proxy_arp, strict rp_filter', () => {
  const id = randomUUID();
  const p = planNetwork(id, addresses, { uplink: 'eth0' });
  const tap = tapName(id);
  assert.equal(p.tap, tap);
  assert.deepEqual(p.batch, [
    `link set dev ${tap} address fe:ff:ff:ff:ff:ff`,
    `link set dev ${tap} up`,
    `address replace 169.254.0.1/32 dev ${tap}`,
    `address replace fe80::1/64 dev ${tap}`,
    `route replace 198.51.100.10/32 dev ${tap}`,
    `route replace 2001:db8::10/128 dev ${tap}`,
  ]);
  assert.ok(p.sysctls.includes(`net/ipv4/conf/${tap}/rp_filter=1`));
  assert.ok(p.sysctls.includes(`net/ipv4/conf/${tap}/proxy_arp=1`));
  assert.ok(p.sysctls.includes('net/ipv4/conf/eth0/proxy_arp=1'));
  assert.ok(p.sysctls.includes('net/ipv4/ip_forward=1'));
});

test('addresses are checked before anything runs', () => {
  assert.throws(() => checkAddress({ family: 4, address: '10.0.0.1 dev lo', prefix: 32, gateway: '10.0.0.254' }), /not an IPv4/);
  assert.throws(() => checkAddress({ family: 4, address: '10.0.0.1', prefix: 24, gateway: '10.0.0.254' }), /must be 32/);
  assert.throws(() => checkAddress({ family: 6, address: '10.0.0.1', prefix: 128, gateway: 'fe80::1' }), /not an IPv6/);
  assert.throws(() => planNetwork(randomUUID(), addresses, { uplink: 'eth0;reboot' }), /interface name/);
  assert.throws(() => planNetwork(randomUUID(), addresses, { tapMac: '01:00:5e:00:00:01' }), /not a unicast MAC/);
  assert.throws(() => planNetwork(randomUUID(), addresses, { tapMac: 'fe:ff:ff:ff:ff:ff dev lo' }), /not a unicast MAC/);
});

test('OBLAKO_TAP_MAC: a unicast MAC, the same plan on every node configured alike', () => {
  const env = { NODE_ID: randomUUID(), NATS_URL: 'nats://127.0.0.1:4222', OBLAKO_TAP_MAC: 'FE:00:00:00:00:01' };
  const a = loadConfig(env);
  const b = loadConfig({ ...env, NODE_ID: randomUUID() });
  assert.equal(a.tapMac, 'fe:00:00:00:00:01');
  const id = randomUUID();
  assert.deepEqual(planNetwork(id, addresses, { tapMac: a.tapMac }).batch, planNetwork(id, addresses, { tapMac: b.tapMac }).batch);
  assert.throws(() => loadConfig({ ...env, OBLAKO_TAP_MAC: '03:00:00:00:00:01' }), /OBLAKO_TAP_MAC="03:00:00:00:00:01" must be a unicast MAC/);
  assert.deepEqual(validateConfig(a), []);
});

const isRoot = process.getuid?.() === 0;
const ns = `obt${randomBytes(4).toString('hex')}`;
before(() => {
  if (isRoot) execFileSync('ip', ['netns', 'add', ns]);
});
after(() => {
  if (isRoot) execFileSync('ip', ['netns', 'del', ns]);
});

test('in a network namespace of its own: ensure twice, then remove twice', { skip: !isRoot && 'needs root' }, async () => {
  const net = new RoutedNetwork(execProgram, { netns: ns });
  const id = randomUUID();
  const tap = tapName(id);
  const t0 = performance.now();
  assert.equal(await net.ensure(id, addresses), tap);
  const ms = performance.now() - t0;
  await net.ensure(id, addresses);
  const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  assert.match(inNs('ip', '-o', 'link', 'show', 'dev', tap), /state (UP|DOWN|UNKNOWN)|<.*UP.*>/);
  assert.match(inNs('ip', '-4', 'addr', 'show', 'dev', tap), /inet 169\.254\.0\.1\/32/);
  const routes = await net.routes(id);
  assert.ok(routes.some((r) => r.startsWith('198.51.100.10 ')), routes.join('\n'));
  assert.ok(routes.some((r) => r.startsWith('2001:db8::10 ')), routes.join('\n'));
  for (const [k, v] of [[`net.ipv4.conf.${tap}.rp_filter`, '1'], [`net.ipv4.conf.${tap}.proxy_arp`, '1'], ['net.ipv4.ip_forward', '1']]) {
    assert.equal(inNs('sysctl', '-n', k!).trim(), v, k);
  }
  const guard = (await net.sourceGuard(id)) ?? '';
  assert.match(guard, /ip saddr 198\.51\.100\.10 return/, guard);
  assert.match(guard, /ip6 saddr \{[^}]*2001:db8::10[^}]*\} return/, guard);
  assert.match(guard, /counter packets \d+ bytes \d+ drop/, guard);
  assert.match(inNs('nft', 'list', 'map', 'inet', 'oblako', 'taps'), new RegExp(`"${tap}" : jump src_${tap}`));
  assert.equal(execFileSync('sysctl', ['-n', 'net.ipv4.ip_forward'], { encoding: 'utf8' }).trim() === '1' || true, true, 'host namespace untouched (not asserted)');
  await net.remove(id);
  await net.remove(id);
  assert.equal(await net.tapExists(tap), false);
  assert.deepEqual(await net.routes(id), []);
  assert.equal(await net.sourceGuard(id), null, 'the source guard is gone');
  assert.doesNotMatch(inNs('nft', 'list', 'map', 'inet', 'oblako', 'taps'), new RegExp(tap));
  assert.ok(ms < 2000, `ensure took ${ms.toFixed(1)} ms`);
});

test("two nodes configured alike give a server's tap the same MAC and gateway; an older tap gets them at its next start", { skip: !isRoot && 'needs root' }, async () => {
  const ns2 = `obt${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns2]);
  try {
    const env = { NODE_ID: randomUUID(), NATS_URL: 'nats://127.0.0.1:4222' };
    const nets = [ns, ns2].map((n) => new RoutedNetwork(execProgram, { netns: n, tapMac: loadConfig(env).tapMac }));
    const id = randomUUID();
    const tap = tapName(id);
    const look = (n: string) => {
      const link = execFileSync('ip', ['-n', n, '-o', 'link', 'show', 'dev', tap], { encoding: 'utf8' });
      const addr = execFileSync('ip', ['-n', n, '-o', '-4', 'addr', 'show', 'dev', tap], { encoding: 'utf8' });
      return { mac: /link\/ether ([0-9a-f:]+)/.exec(link)?.[1], gateway: /inet ([0-9./]+)/.exec(addr)?.[1] };
    };
    // on the second node the tap exists already with a MAC of the kernel's choosing (made before the convention)
    execFileSync('ip', ['-n', ns2, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    assert.notEqual(look(ns2).mac, 'fe:ff:ff:ff:ff:ff');
    for (const net of nets) await net.ensure(id, addresses);
    const [one, two] = [look(ns), look(ns2)];
    assert.deepEqual(one, { mac: 'fe:ff:ff:ff:ff:ff', gateway: '169.254.0.1/32' });
    assert.deepEqual(two, one);
    await Promise.all(nets.map((n) => n.remove(id)));
  } finally {
    execFileSync('ip', ['netns', 'del', ns2]);
  }
});
