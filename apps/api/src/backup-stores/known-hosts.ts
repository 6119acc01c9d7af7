import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseSshPublicKey, SshKeyFormatError, type ParsedSshKey } from '../ssh-keys/ssh-public-key.js';

export class HostKeyError extends Error {}

export interface PinnedHostKey {
  /** The known_hosts line the node writes into its UserKnownHostsFile: `<host pattern> <type> <base64>`. */
  line: string;
  fingerprint: string;
  type: ParsedSshKey['type'];
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` on any other. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function hashedMatches(entry: string, name: string): boolean {
  // |1|<base64 salt>|<base64 HMAC-SHA1(salt, name)>  (HashKnownHosts yes)
  const [, magic, salt, hash] = entry.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const want = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  const got = Buffer.from(hash, 'base64');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Checks a store's host key and pins it to the store's host and port. Accepts what staff copy from the store:
 * a known_hosts line (`ssh-keyscan -t ed25519 host`, hashed or not) or the host's public key file
 * (`/etc/ssh/ssh_host_ed25519_key.pub`). A known_hosts line must name the store's own host (and port); wildcards,
 * negations and markers (@cert-authority, @revoked) are refused: one host, one pinned key.
 */
export function pinHostKey(text: string, host: string, port: number): PinnedHostKey {
  const line = text.trim();
  if (!line) throw new HostKeyError('hostKey is required: paste the store\'s host key line, e.g. the output of "ssh-keyscan -t ed25519 <host>".');
  if (/[\r\n]/.test(line)) throw new HostKeyError('hostKey must be one line: paste the one known_hosts line of the store\'s key.');
  if (line.startsWith('@')) throw new HostKeyError('hostKey may not carry a marker (@cert-authority, @revoked): pin the store\'s own host key.');
  const parts = line.split(/\s+/);
  const name = knownHostsName(host, port);
  let keyText: string;
  if (/^(ssh-|ecdsa-)/.test(parts[0]!)) {
    keyText = line; // a public key file: it names no host, it is pinned to this one
  } else {
    if (parts.length < 3) throw new HostKeyError('hostKey does not look like a known_hosts line ("<host> <key type> <base64 key>"); paste the output of "ssh-keyscan -t ed25519 <host>".');
    const entries = parts[0]!.split(',');
    if (entries.some((e) => /[*?!]/.test(e))) throw new HostKeyError('hostKey may not use host wildcards or negations: pin the key to the store\'s own host.');
    const matches = entries.some((e) => (e.startsWith('|') ? hashedMatches(e, name) : e.toLowerCase() === name));
    if (!matches) {
      throw new HostKeyError(`hostKey is for ${entries.some((e) => e.startsWith('|')) ? 'another (hashed) host' : `"${parts[0]!.slice(0, 80)}"`}, but the store is ${name}; scan the store itself (ssh-keyscan${port === 22 ? '' : ` -p ${port}`} ${host}).`);
    }
    keyText = parts.slice(1).join(' ');
  }
  let key: ParsedSshKey;
  try {
    key = parseSshPublicKey(keyText);
  } catch (err) {
    if (err instanceof SshKeyFormatError) throw new HostKeyError(`hostKey: ${err.message}`);
    throw err;
  }
  const [type, data] = key.normalized.split(' ') as [string, string];
  return { line: `${name} ${type} ${data}`, fingerprint: key.fingerprint, type: key.type };
}

/** The key part (`<type> <base64>`) of a pinned line: to pin the same key again when the host or port changes. */
export function keyOfPinned(line: string): string {
  return line.trim().split(/\s+/).slice(1, 3).join(' ');
}
