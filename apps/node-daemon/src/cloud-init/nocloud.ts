import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOSTNAME_PATTERN, type ServerSpec } from '@oblako/contracts';
import type { Exec } from '../host/exec.js';
import { assertServerId } from '../naming.js';
import { checkAddress } from '../network/routed.js';

export class SeedError extends Error {
  override name = 'SeedError';
}

export interface SeedFiles {
  'meta-data': string;
  'user-data': string;
  'network-config': string;
}

/** OpenSSH public key: type, base64 blob, optional comment of printable characters (no quotes). */
const SSH_KEY = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [\x20-\x7e]{0,1024})?$/;
/** crypt(3) hash: $id$[params$]salt$hash from the crypt alphabet. */
const CRYPT = /^\$[0-9a-z]{1,4}(\$[A-Za-z0-9./=,+-]{1,256}){1,4}$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/**
 * A YAML quoted scalar of one line of printable characters: single-quoted, or double-quoted when
 * it holds a single quote and no `"` or `\\` (both are exact YAML; the second also suits simple
 * readers such as the test guest's that do not undo `''`).
 */
function q(v: string): string {
  if (!/^[\x20-\x7e]*$/.test(v)) throw new SeedError('a seed value contains a non-printable character');
  if (!v.includes("'")) return `'${v}'`;
  if (!v.includes('"') && !v.includes('\\')) return `"${v}"`;
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * The three NoCloud files for a server, in the exact format tools/guest-image/README.md describes
 * (and real cloud-init reads): meta-data (instance-id, local-hostname), user-data (#cloud-config:
 * hostname, ssh_authorized_keys, root's hashed password), network-config v2 (the NIC matched by
 * MAC, static /32 and /128 addresses, default routes via the on-link gateway).
 */
export function buildSeedFiles(spec: Pick<ServerSpec, 'serverId' | 'hostname' | 'sshKeys' | 'rootPasswordHash' | 'addresses'>, mac: string): SeedFiles {
  assertServerId(spec.serverId);
  if (!HOSTNAME_PATTERN.test(spec.hostname)) throw new SeedError(`hostname "${spec.hostname.slice(0, 80)}" is not an RFC 1123 host name`);
  if (!MAC.test(mac)) throw new SeedError(`MAC "${mac}" is not a lower-case MAC address`);
  for (const k of spec.sshKeys) if (!SSH_KEY.test(k.trim())) throw new SeedError(`SSH key "${k.slice(0, 40)}…" is not an OpenSSH public key`);
  if (spec.rootPasswordHash !== undefined && !CRYPT.test(spec.rootPasswordHash)) throw new SeedError('the root password hash is not a crypt(3) hash');
  const addrs = spec.addresses.map(checkAddress);
  const shortName = spec.hostname.split('.')[0]!;

  const meta = [`instance-id: ${q(spec.serverId)}`, `local-hostname: ${q(spec.hostname)}`, ''].join('\n');

  const user = ['#cloud-config', `hostname: ${q(shortName)}`, `fqdn: ${q(spec.hostname)}`];
  if (spec.sshKeys.length) user.push('ssh_authorized_keys:', ...spec.sshKeys.map((k) => `  - ${q(k.trim())}`));
  if (spec.rootPasswordHash !== undefined) {
    // `default` keeps the image's own login (e.g. debian), which a users list would otherwise replace
    user.push('disable_root: false', 'ssh_pwauth: true', 'users:', '  - default', '  - name: root', `    hashed_passwd: ${q(spec.rootPasswordHash)}`, '    lock_passwd: false');
    // Debian's sshd says `PermitRootLogin prohibit-password`: the password the customer chose must work over SSH.
    // cloud-init writes this before sshd starts (cloud-init.service runs Before=ssh.service).
    user.push('write_files:', `  - path: ${q('/etc/ssh/sshd_config.d/50-oblako-root-password.conf')}`, `    content: ${q('PermitRootLogin yes')}`, `    permissions: ${q('0644')}`);
  }
  user.push('');

  const net = ['version: 2', 'ethernets:', '  eth0:', '    match:', `      macaddress: ${q(mac)}`, '    set-name: eth0'];
  if (addrs.length) {
    net.push('    addresses:', ...addrs.map((a) => `      - ${q(a.route)}`));
    const gws = new Map<4 | 6, string>();
    for (const a of addrs) if (!gws.has(a.family)) gws.set(a.family, a.gateway);
    net.push('    routes:');
    for (const [fam, gw] of gws) net.push(`      - to: ${q(fam === 4 ? '0.0.0.0/0' : '::/0')}`, `        via: ${q(gw)}`, '        on-link: true');
  }
  net.push('');

  return { 'meta-data': meta, 'user-data': user.join('\n'), 'network-config': net.join('\n') };
}

/**
 * Seeds as ISO 9660 images with volume label `cidata` (Joliet + Rock Ridge), made by genisoimage
 * (Debian package `genisoimage`), at `<dir>/<serverId>.iso`. The domain attaches it as a read-only
 * virtio disk (vdb).
 */
export class SeedWriter {
  constructor(
    readonly dir: string,
    private readonly exec: Exec,
  ) {}

  pathOf(serverId: string): string {
    return join(this.dir, `${assertServerId(serverId)}.iso`);
  }

  /** Write (or rewrite, atomically) the server's seed image. */
  async write(serverId: string, files: SeedFiles): Promise<string> {
    const path = this.pathOf(serverId);
    await mkdir(this.dir, { recursive: true });
    const work = await mkdtemp(join(this.dir, '.seed-'));
    const tmp = join(this.dir, `.new-${randomBytes(6).toString('hex')}.iso`);
    try {
      const names = ['meta-data', 'user-data', 'network-config'] as const;
      await Promise.all(names.map((n) => writeFile(join(work, n), files[n], { mode: 0o600 })));
      await this.exec('genisoimage', ['-quiet', '-output', tmp, '-volid', 'cidata', '-joliet', '-rock', ...names.map((n) => join(work, n))]);
      await rename(tmp, path);
      return path;
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(tmp, { force: true });
    }
  }

  async remove(serverId: string): Promise<void> {
    await rm(this.pathOf(serverId), { force: true });
  }
}
