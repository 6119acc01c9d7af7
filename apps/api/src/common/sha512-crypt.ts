import { createHash, randomBytes } from 'node:crypto';

/**
 * SHA-512 crypt (`$6$`), as glibc's crypt(3) computes it (Ulrich Drepper's "Unix crypt using SHA-256 and
 * SHA-512", the algorithm behind `openssl passwd -6`, `mkpasswd -m sha-512` and /etc/shadow on Linux).
 * The API hashes a customer's root password with it before anything is stored or sent: only the hash
 * reaches the database, the outbox, the node and the guest's cloud-init (or its guest agent).
 */

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;

/** The order in which the 64 digest bytes are written, three at a time (the last one alone). */
const ORDER: readonly [number, number, number][] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

function b64(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ALPHABET[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** `len` bytes of `block` repeated. */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

/**
 * crypt(3) of `password` with a `$6$[rounds=N$]salt` setting: returns `$6$[rounds=N$]salt$hash`.
 * The salt is cut to 16 characters and the rounds clamped to 1000..999999999, as glibc does.
 */
export function sha512Crypt(password: string, setting: string): string {
  const m = /^\$6\$(?:rounds=(\d{1,10})\$)?([^$]*)/.exec(setting);
  if (!m) throw new Error('not a $6$ setting');
  const custom = m[1] !== undefined;
  const rounds = custom ? Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1]))) : ROUNDS_DEFAULT;
  const saltStr = m[2]!.slice(0, SALT_MAX);
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(saltStr, 'utf8');
  const sha = () => createHash('sha512');

  const B = sha().update(P).update(S).update(P).digest();
  const a = sha().update(P).update(S);
  a.update(repeatTo(B, P.length));
  for (let n = P.length; n > 0; n >>>= 1) a.update(n & 1 ? B : P);
  const A = a.digest();

  const dp = sha();
  for (let i = 0; i < P.length; i++) dp.update(P);
  const Pseq = repeatTo(dp.digest(), P.length);
  const ds = sha();
  for (let i = 0; i < 16 + A[0]!; i++) ds.update(S);
  const Sseq = repeatTo(ds.digest(), S.length);

  let C = A;
  for (let i = 0; i < rounds; i++) {
    const c = sha();
    c.update(i & 1 ? Pseq : C);
    if (i % 3) c.update(Sseq);
    if (i % 7) c.update(Pseq);
    c.update(i & 1 ? C : Pseq);
    C = c.digest();
  }

  let hash = '';
  for (const [x, y, z] of ORDER) hash += b64(C[x]!, C[y]!, C[z]!, 4);
  hash += b64(0, 0, C[63]!, 2);
  return `$6$${custom ? `rounds=${rounds}$` : ''}${saltStr}$${hash}`;
}

/** A fresh 16-character salt (96 random bits) from the crypt alphabet. */
export function cryptSalt(): string {
  const bytes = randomBytes(12);
  let out = '';
  for (let i = 0; i < 12; i += 3) out += b64(bytes[i]!, bytes[i + 1]!, bytes[i + 2]!, 4);
  return out;
}

/** Hash a password for /etc/shadow: `$6$<random salt>$…` with glibc's default 5000 rounds. */
export function hashPassword(password: string): string {
  return sha512Crypt(password, `$6$${cryptSalt()}`);
}

/** Whether `password` matches a `$6$` hash (constant work; comparison of equal-length strings). */
export function verifyPassword(password: string, hash: string): boolean {
  const again = sha512Crypt(password, hash);
  if (again.length !== hash.length) return false;
  let diff = 0;
  for (let i = 0; i < hash.length; i++) diff |= again.charCodeAt(i) ^ hash.charCodeAt(i);
  return diff === 0;
}
