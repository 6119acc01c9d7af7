import { randomInt } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import type { EntityManager } from 'typeorm';
import { keyedHash, seal, unseal } from './secrets.js';

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
/** One step either side of now, for clock drift; a code older than that is expired. */
const TOTP_TOLERANCE_SECONDS = 30;
export const RECOVERY_CODE_COUNT = 10;
/** An enrolment not confirmed with a code within this long has to start again. */
export const SETUP_TTL_SECONDS = 15 * 60;

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function otpauthUri(issuer: string, account: string, secret: string): string {
  return generateURI({ issuer, label: account, secret, period: TOTP_PERIOD_SECONDS, digits: 6, algorithm: 'sha1' });
}

/** The time step a code belongs to, or null when it is not valid now (wrong, or older than the tolerance). */
export async function totpStep(secret: string, code: string, epochSeconds = Math.floor(Date.now() / 1000)): Promise<number | null> {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const r = await verify({ secret, token, epoch: epochSeconds, epochTolerance: TOTP_TOLERANCE_SECONDS, period: TOTP_PERIOD_SECONDS });
  if (!r.valid) return null;
  return Math.floor(epochSeconds / TOTP_PERIOD_SECONDS) + (r.delta ?? 0);
}

/** `xxxx-xxxx-xxxx` from a 31-letter alphabet: 59 bits each. */
export function newRecoveryCodes(n = RECOVERY_CODE_COUNT): string[] {
  const one = () => Array.from({ length: 12 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('').replace(/(.{4})(.{4})(.{4})/, '$1-$2-$3');
  const codes = new Set<string>();
  while (codes.size < n) codes.add(one());
  return [...codes];
}

export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function looksLikeRecoveryCode(code: string): boolean {
  return normaliseRecoveryCode(code).length === 12;
}

/**
 * The user's second factor, read and spent in the database so that every API replica agrees:
 * a TOTP code counts once (its time step must be later than the last one used), a recovery code
 * once (marked used in the same statement that finds it).
 */
export class TwoFactorStore {
  constructor(private readonly dataKey: Buffer) {}

  sealSecret(secret: string): string {
    return seal(this.dataKey, secret);
  }

  openSecret(sealed: string): string {
    return unseal(this.dataKey, sealed);
  }

  hashRecoveryCode(code: string): string {
    return keyedHash(this.dataKey, `recovery:${normaliseRecoveryCode(code)}`);
  }

  async replaceRecoveryCodes(m: EntityManager, userId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    await m.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
    for (const c of codes) await m.query('INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)', [userId, this.hashRecoveryCode(c)]);
    return codes;
  }

  /**
   * Check a code against the user's enabled second factor and spend it. Returns what it was, or
   * null when it is wrong, expired or already used.
   */
  async spend(m: EntityManager, userId: string, code: string): Promise<'totp' | 'recovery_code' | null> {
    const [u]: { totp_secret: string | null }[] = await m.query('SELECT totp_secret FROM users WHERE id = $1', [userId]);
    if (!u?.totp_secret) return null;
    if (looksLikeRecoveryCode(code)) {
      const res: [unknown[], number] = await m.query('UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL', [userId, this.hashRecoveryCode(code)]);
      return res[1] > 0 ? 'recovery_code' : null;
    }
    const step = await totpStep(this.openSecret(u.totp_secret), code);
    if (step === null) return null;
    const res: [unknown[], number] = await m.query('UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)', [userId, step]);
    return res[1] > 0 ? 'totp' : null;
  }

  async recoveryCodesLeft(m: EntityManager, userId: string): Promise<number> {
    const [r]: { n: number }[] = await m.query('SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
    return r?.n ?? 0;
  }
}
