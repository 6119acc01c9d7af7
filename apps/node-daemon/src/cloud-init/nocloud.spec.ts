import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execProgram } from '../host/exec.js';
import { buildSeedFiles, SeedWriter } from './nocloud.js';

const serverId = randomUUID();
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGv0yM0Rj6vQ0h8s1Q3cB4D9Vn2a2ZQe2bMi6Xq3qQ1x it\'s me@laptop';
const spec = {
  serverId,
  hostname: 'web-1.example.com',
  sshKeys: [key],
  rootPasswordHash: '$6$rounds=5000$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789./ABCDEFGHIJ',
  addresses: [
    { family: 4 as const, address: '198.51.100.10', prefix: 32, gateway: '169.254.0.1' },
    { family: 6 as const, address: '2001:db8::10', prefix: 128, gateway: 'fe80::1' },
  ],
};
const mac = '52:54:00:12:34:56';

test('seed files follow the NoCloud format the test guest and cloud-init read', () => {
  const f = buildSeedFiles(spec, mac);
  assert.equal(f['meta-data'], `instance-id: '${serverId}'\nlocal-hostname: 'web-1.example.com'\n`);
  assert.ok(f['user-data'].startsWith('#cloud-config\n'));
  assert.match(f['user-data'], /^hostname: 'web-1'$/m);
  assert.match(f['user-data'], /^ {2}- "ssh-ed25519 AAAA\S+ it's me@laptop"$/m);
  assert.match(f['user-data'], /^ {4}hashed_passwd: '\$6\$rounds=5000\$saltsalt\$[^']+'$/m);
  assert.match(f['network-config'], /^version: 2$/m);
  assert.match(f['network-config'], /macaddress: '52:54:00:12:34:56'/);
  assert.match(f['network-config'], /- '198\.51\.100\.10\/32'\n {6}- '2001:db8::10\/128'/);
  assert.match(f['network-config'], /- to: '0\.0\.0\.0\/0'\n {8}via: '169\.254\.0\.1'\n {8}on-link: true/);
  assert.match(f['network-config'], /- to: '::\/0'\n {8}via: 'fe80::1'\n {8}on-link: true/);
});

test('hostile values never reach the seed', () => {
  assert.throws(() => buildSeedFiles({ ...spec, hostname: "x'\nruncmd: [rm]" }, mac), /host name/);
  assert.throws(() => buildSeedFiles({ ...spec, sshKeys: ['ssh-ed25519 AAAA\nruncmd: [reboot]'] }, mac), /OpenSSH public key/);
  assert.throws(() => buildSeedFiles({ ...spec, rootPasswordHash: "x'\nruncmd" }, mac), /crypt/);
  assert.throws(() => buildSeedFiles({ ...spec, addresses: [{ family: 4, address: '10.0.0.1; rm', prefix: 32, gateway: '10.0.0.254' }] }, mac), /not an IPv4/);
});

const guestAwk = new URL('../../../../../tools/guest-image/initramfs/yaml-flat.awk', import.meta.url);
test('the test guest’s YAML reader understands the seed', { skip: !existsSync(guestAwk) && 'tools/guest-image not present' }, async () => {
  const f = buildSeedFiles(spec, mac);
  const dir = await mkdtemp(join(tmpdir(), 'seed-'));
  try {
    const flat = async (name: keyof typeof f) => {
      await writeFile(join(dir, name), f[name]);
      return execFileSync('awk', ['-f', guestAwk.pathname, join(dir, name)], { encoding: 'utf8' });
    };
    assert.match(await flat('meta-data'), /^local-hostname=web-1\.example\.com$/m);
    const ud = await flat('user-data');
    assert.match(ud, /^ssh_authorized_keys\.0=ssh-ed25519 \S+ it's me@laptop$/m);
    assert.match(ud, /^users\.0=default$/m, "the image's default user is kept");
    assert.match(ud, /^users\.1\.name=root$/m);
    assert.match(ud, /^users\.1\.hashed_passwd=\$6\$rounds=5000\$/m);
    const nc = await flat('network-config');
    assert.match(nc, /^ethernets\.eth0\.match\.macaddress=52:54:00:12:34:56$/m);
    assert.match(nc, /^ethernets\.eth0\.addresses\.0=198\.51\.100\.10\/32$/m);
    assert.match(nc, /^ethernets\.eth0\.routes\.0\.on-link=true$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the seed image is ISO 9660 labelled cidata with the three files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'seeds-'));
  try {
    const w = new SeedWriter(dir, execProgram);
    const t0 = performance.now();
    const path = await w.write(serverId, buildSeedFiles(spec, mac));
    const ms = performance.now() - t0;
    assert.equal(path, join(dir, `${serverId}.iso`));
    const info = execFileSync('isoinfo', ['-d', '-i', path], { encoding: 'utf8' });
    assert.match(info, /Volume id: cidata/);
    const list = execFileSync('isoinfo', ['-R', '-f', '-i', path], { encoding: 'utf8' });
    assert.deepEqual(list.trim().split('\n').sort(), ['/meta-data', '/network-config', '/user-data']);
    const nc = execFileSync('isoinfo', ['-R', '-x', '/network-config', '-i', path], { encoding: 'utf8' });
    assert.match(nc, /version: 2/);
    assert.ok(ms < 2000, `seed written in ${ms.toFixed(1)} ms`);
    await w.remove(serverId);
    await w.remove(serverId);
    assert.equal(existsSync(path), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
