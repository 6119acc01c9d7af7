import { createHash, createPublicKey } from 'node:crypto';

/**
 * Parses an OpenSSH public key line (`type base64 [comment]`) by reading the SSH wire format
 * (RFC 4253 / 5656 / 8709) and asking OpenSSL whether the key material is a real key.
 */
export interface ParsedSshKey {
  type: 'ssh-ed25519' | 'ssh-rsa' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521';
  bits: number;
  /** `SHA256:` + unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  comment: string;
  /** `type base64 comment`, normalised (single spaces, no trailing newline). */
  normalized: string;
}

export class SshKeyFormatError extends Error {}

export const MIN_RSA_BITS = 2048;

const CURVES = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', crv: 'P-256', bytes: 32, bits: 256 },
  'ecdsa-sha2-nistp384': { name: 'nistp384', crv: 'P-384', bytes: 48, bits: 384 },
  'ecdsa-sha2-nistp521': { name: 'nistp521', crv: 'P-521', bytes: 66, bits: 521 },
} as const;

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(what: string): Buffer {
    if (this.pos + 4 > this.buf.length) throw new SshKeyFormatError(`The key data ends before its ${what}; the key is truncated.`);
    const len = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    if (len > this.buf.length - this.pos) throw new SshKeyFormatError(`The key data ends inside its ${what}; the key is truncated.`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  string(what: string): string {
    return this.bytes(what).toString('latin1');
  }
  /** An mpint as an unsigned big-endian buffer without leading zeros. */
  mpint(what: string): Buffer {
    const b = this.bytes(what);
    if (b.length > 0 && (b[0]! & 0x80) !== 0) throw new SshKeyFormatError(`The key's ${what} is negative; this is not a valid key.`);
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.subarray(i);
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new SshKeyFormatError('The key data has extra bytes after the key; copy the key exactly as ssh-keygen wrote it.');
  }
}

function bitLength(b: Buffer): number {
  if (b.length === 0) return 0;
  return (b.length - 1) * 8 + (32 - Math.clz32(b[0]!));
}

const b64url = (b: Buffer): string => b.toString('base64url');

export function parseSshPublicKey(line: string): ParsedSshKey {
  const text = line.trim();
  if (text.includes('\n')) throw new SshKeyFormatError('Paste one public key on one line (the contents of a file such as ~/.ssh/id_ed25519.pub).');
  if (/PRIVATE KEY/.test(text)) throw new SshKeyFormatError('This is a private key. Never share it; paste the public key (the .pub file) instead.');
  const parts = text.split(/\s+/);
  if (parts.length < 2) throw new SshKeyFormatError('A public key looks like "ssh-ed25519 AAAAC3Nza... comment"; paste the whole line from the .pub file.');
  const [type, data, ...rest] = parts as [string, string, ...string[]];
  const supported = ['ssh-ed25519', 'ssh-rsa', ...Object.keys(CURVES)];
  if (!supported.includes(type)) {
    throw new SshKeyFormatError(`Key type "${type.slice(0, 40)}" is not supported; use one of ${supported.join(', ')}.`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) throw new SshKeyFormatError('The key data is not valid base64; copy the key again without line breaks.');
  const blob = Buffer.from(data, 'base64');
  const r = new Reader(blob);
  const inner = r.string('type');
  if (inner !== type) throw new SshKeyFormatError(`The key says it is "${type}" but its data is a "${inner.slice(0, 40)}" key.`);
  let bits: number;
  try {
    if (type === 'ssh-ed25519') {
      const pk = r.bytes('public key');
      r.end();
      if (pk.length !== 32) throw new SshKeyFormatError('An ssh-ed25519 key must hold 32 bytes of key material.');
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pk) }, format: 'jwk' });
      bits = 256;
    } else if (type === 'ssh-rsa') {
      const e = r.mpint('exponent');
      const n = r.mpint('modulus');
      r.end();
      bits = bitLength(n);
      if (bits < MIN_RSA_BITS) throw new SshKeyFormatError(`This RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required. Create a new key with ssh-keygen -t ed25519.`);
      if (bits > 16384) throw new SshKeyFormatError('RSA keys larger than 16384 bits are not accepted.');
      if (e.length === 0 || (e[e.length - 1]! & 1) === 0) throw new SshKeyFormatError('The RSA public exponent must be odd; this is not a valid key.');
      createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
    } else {
      const curve = CURVES[type as keyof typeof CURVES];
      const name = r.string('curve name');
      const q = r.bytes('public point');
      r.end();
      if (name !== curve.name) throw new SshKeyFormatError(`The key is "${type}" but names the curve "${name.slice(0, 20)}".`);
      if (q.length !== 1 + 2 * curve.bytes || q[0] !== 0x04) throw new SshKeyFormatError('The ECDSA public point must be an uncompressed point of the right size.');
      const x = q.subarray(1, 1 + curve.bytes);
      const y = q.subarray(1 + curve.bytes);
      createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
      bits = curve.bits;
    }
  } catch (err) {
    if (err instanceof SshKeyFormatError) throw err;
    throw new SshKeyFormatError('The key material is not a valid public key (for ECDSA, the point is not on the curve).');
  }
  const comment = rest.join(' ');
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { type: type as ParsedSshKey['type'], bits, fingerprint, comment, normalized: [type, data, comment].filter(Boolean).join(' ') };
}
