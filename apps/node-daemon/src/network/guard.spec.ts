import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { execProgram } from '../host/exec.js';
import { tapName } from '../naming.js';
import { allowedSources, guardChain, planSourceGuard, planSourceGuardRemoval } from './guard.js';
import { RoutedNetwork } from './routed.js';

const addresses = [
  { family: 4 as const, address: '198.51.100.10', prefix: 32, gateway: '169.254.0.1' },
  { family: 6 as const, address: '2001:db8::10', prefix: 128, gateway: 'fe80::1' },
];

test('the guard script: base chain at raw priority, one vmap rule rewritten each time, a chain per tap allowing only its addresses', () => {
  const id = randomUUID();
  const tap = tapName(id);
  const chain = `src_${tap}`;
  assert.equal(guardChain(id), chain);
  const { script } = planSourceGuard(id, addresses);
  assert.deepEqual(script.trimEnd().split('\n'), [
    'add table inet oblako',
    'add map inet oblako taps { type ifname : verdict; }',
    'add chain inet oblako prerouting { type filter hook prerouting priority raw; policy accept; }',
    'flush chain inet oblako prerouting',
    'add rule inet oblako prerouting iifname vmap @taps',
    `add chain inet oblako ${chain}`,
    `flush chain inet oblako ${chain}`,
    `add rule inet oblako ${chain} ip saddr { 198.51.100.10 } return`,
    `add rule inet oblako ${chain} ip6 saddr { fe80::/10, ::, 2001:db8::10 } return`,
    `add rule inet oblako ${chain} counter drop`,
    `add element inet oblako taps { "${tap}" : jump ${chain} }`,
  ]);
});

test('allowed sources: /32s, /128s or the routed IPv6 prefix, link-local and :: always; no IPv4 address → no IPv4 accepted', () => {
  assert.deepEqual(allowedSources([{ family: 6, address: '2001:db8:1::', prefix: 64, gateway: 'fe80::1' }]), { v4: [], v6: ['fe80::/10', '::', '2001:db8:1::/64'] });
  assert.deepEqual(allowedSources([...addresses, { family: 4, address: '198.51.100.11', prefix: 32, gateway: '169.254.0.1' }]).v4, ['198.51.100.10', '198.51.100.11']);
  const v6only = planSourceGuard(randomUUID(), [{ family: 6, address: '2001:db8::10', prefix: 128, gateway: 'fe80::1' }]).script;
  assert.doesNotMatch(v6only, /ip saddr/, 'a server without IPv4 may send no IPv4 at all');
  assert.match(v6only, /counter drop/);
  assert.deepEqual(allowedSources([]), { v4: [], v6: ['fe80::/10', '::'] });
});

test('nothing but validated addresses reaches nft', () => {
  const bad = [
    { family: 4 as const, address: '198.51.100.10 } accept; add rule inet oblako x', prefix: 32, gateway: '169.254.0.1' },
    { family: 6 as const, address: 'fe80::1%eth0', prefix: 128, gateway: 'fe80::2' },
    { family: 6 as const, address: '2001:db8::10', prefix: 12, gateway: 'fe80::1' },
    { family: 4 as const, address: '2001:db8::10', prefix: 32, gateway: '169.254.0.1' },
  ];
  for (const a of bad) assert.throws(() => planSourceGuard(randomUUID(), [a]), /not an IPv|prefix/, a.address);
  assert.throws(() => planSourceGuard('not-a-uuid', addresses));
});

test('removal script creates what it deletes first, so it never fails for "already gone"', () => {
  const id = randomUUID();
  const tap = tapName(id);
  const lines = planSourceGuardRemoval(id).trimEnd().split('\n');
  assert.deepEqual(lines.slice(-5), [
    `add chain inet oblako src_${tap}`,
    `add element inet oblako taps { "${tap}" : jump src_${tap} }`,
    `delete element inet oblako taps { "${tap}" }`,
    `flush chain inet oblako src_${tap}`,
    `delete chain inet oblako src_${tap}`,
  ]);
  assert.ok(!lines.some((l) => /prerouting/.test(l)), 'removal leaves the base chain alone');
});

// ---- in namespaces of its own: a "node" and a "guest" joined by a veth named like the tap --------

const isRoot = process.getuid?.() === 0;
const hasNft = (() => {
  try {
    execFileSync('nft', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const hasBusybox = (() => {
  try {
    execFileSync('busybox', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const node = `obgn${randomBytes(3).toString('hex')}`;
const guest = `obgg${randomBytes(3).toString('hex')}`;
const canRun = isRoot && hasNft && hasBusybox;

before(() => {
  if (!canRun) return;
  for (const ns of [node, guest]) {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
});
after(() => {
  if (!canRun) return;
  for (const ns of [node, guest]) execFileSync('ip', ['netns', 'del', ns]);
});

function icmpInEchos(ns: string): { v4: number; v6: number } {
  const snmp = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('Icmp:'));
  const v4 = Number(snmp[1]!.split(/\s+/)[snmp[0]!.split(/\s+/).indexOf('InEchos')]);
  const v6 = Number(/^Icmp6InEchos\s+(\d+)/m.exec(execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp6'], { encoding: 'utf8' }))![1]);
  return { v4, v6 };
}

/** Echo requests from `src` (an address the guest has) to `dst` in the node's namespace that arrived there. */
function pingFrom(src: string, dst: string, count = 3): number {
  const before = icmpInEchos(node);
  const fam = src.includes(':') ? 'v6' : 'v4';
  try {
    execFileSync('ip', ['netns', 'exec', guest, 'busybox', fam === 'v6' ? 'ping6' : 'ping', '-c', String(count), '-W', '1', '-I', src, dst], { stdio: 'ignore' });
  } catch {
    // no reply is what a dropped packet looks like
  }
  return icmpInEchos(node)[fam] - before[fam];
}

test('in namespaces: a guest sending from an address it was not given reaches nobody, IPv6 and IPv4; its own address works; removal lifts it', { skip: !canRun && 'needs root, nft and busybox' }, async () => {
  const id = randomUUID();
  const tap = tapName(id);
  const sh = (ns: string, ...args: string[]) => execFileSync('ip', ['-n', ns, ...args]);
  // the "tap": a veth whose node end carries the tap's name, the other end is the guest's eth0
  sh(node, 'link', 'add', tap, 'type', 'veth', 'peer', 'name', 'eth0');
  sh(node, 'link', 'set', 'eth0', 'netns', guest);
  sh(node, 'link', 'set', tap, 'up');
  sh(node, 'addr', 'add', '192.0.2.1/32', 'dev', tap);
  sh(node, 'addr', 'add', '2001:db8:ff::1/128', 'dev', tap);
  sh(node, 'route', 'add', '198.51.100.0/24', 'dev', tap);
  sh(node, 'route', 'add', '2001:db8::/64', 'dev', tap);
  sh(guest, 'link', 'set', 'eth0', 'up');
  for (const a of ['198.51.100.10/32', '198.51.100.99/32']) sh(guest, 'addr', 'add', a, 'dev', 'eth0');
  for (const a of ['2001:db8::10/128', '2001:db8::99/128']) sh(guest, 'addr', 'add', a, 'dev', 'eth0', 'nodad');
  sh(guest, 'route', 'add', '192.0.2.1/32', 'dev', 'eth0');
  sh(guest, 'route', 'add', '2001:db8:ff::1/128', 'dev', 'eth0');

  // control, without the guard (and without rp_filter on this veth): spoofed packets do arrive
  assert.equal(pingFrom('2001:db8::99', '2001:db8:ff::1', 2), 2, 'control: IPv6 from an unassigned source arrives without the guard');
  assert.equal(pingFrom('198.51.100.99', '192.0.2.1', 2), 2, 'control: IPv4 from an unassigned source arrives without the guard');

  const net = new RoutedNetwork(execProgram, { netns: node });
  await net.ensureSourceGuard(id, addresses);
  await net.ensureSourceGuard(id, addresses); // idempotent
  const listed = execFileSync('ip', ['netns', 'exec', node, 'nft', 'list', 'table', 'inet', 'oblako'], { encoding: 'utf8' });
  assert.equal(listed.match(/iifname vmap @taps/g)?.length, 1, listed);
  assert.equal(listed.match(/counter packets/g)?.length, 1, listed);

  assert.equal(pingFrom('2001:db8::10', '2001:db8:ff::1'), 3, 'IPv6 from its own address arrives (NDP from link-local passes)');
  assert.equal(pingFrom('2001:db8::99', '2001:db8:ff::1', 2), 0, 'IPv6 from an address it was not given is dropped');
  assert.equal(pingFrom('198.51.100.10', '192.0.2.1'), 3, 'IPv4 from its own address arrives');
  assert.equal(pingFrom('198.51.100.99', '192.0.2.1', 2), 0, 'IPv4 from an address it was not given is dropped');
  const chain = (await net.sourceGuard(id)) ?? '';
  const dropped = Number(/counter packets (\d+)/.exec(chain)?.[1]);
  assert.ok(dropped >= 4, `the guard's counter saw the spoofed packets (${dropped})\n${chain}`);

  await net.remove(id);
  await net.remove(id);
  assert.equal(await net.sourceGuard(id), null);
  assert.equal(await net.tapExists(tap), false);
});
