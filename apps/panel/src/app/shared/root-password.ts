/**
 * The API's rule for a root password (8-128 characters counted as characters, no control characters: the API's
 * ROOT_PASSWORD_PATTERN), and the confirmation; null when fine or both are empty.
 */
export const ROOT_PASSWORD_MIN = 8;
export const ROOT_PASSWORD_MAX = 128;

export function rootPasswordProblem(password: string, again: string): string | null {
  if (!password && !again) return null;
  const length = [...password].length;
  if (length < ROOT_PASSWORD_MIN || length > ROOT_PASSWORD_MAX) return `The root password must be ${ROOT_PASSWORD_MIN} to ${ROOT_PASSWORD_MAX} characters.`;
  if (/\p{Cc}/u.test(password)) return 'The root password may not contain control characters (tab, new line).';
  if (password !== again) return 'The two root passwords differ.';
  return null;
}

export type PasswordStrength = 'weak' | 'fair' | 'strong';

/**
 * A hint, never a refusal: the API accepts every password of 8-128 characters, so the panel does too. Strength is
 * the password's length and how many kinds of character it mixes (lower, upper, digits, others); a password with
 * one character repeated, or a long run of one kind, counts as weak whatever its length.
 */
export function rootPasswordStrength(password: string): PasswordStrength | null {
  const chars = [...password];
  if (chars.length === 0) return null;
  const kinds = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].filter((re) => re.test(password)).length;
  const distinct = new Set(chars).size;
  if (chars.length < 10 || distinct < 5) return 'weak';
  if (chars.length >= 16 && kinds >= 2 && distinct >= 8) return 'strong';
  if (chars.length >= 12 && kinds >= 3) return 'strong';
  return kinds >= 2 ? 'fair' : 'weak';
}

/** Letters and digits without look-alikes (0/O, 1/l/I) and a few symbols that survive any keyboard layout and shell. */
const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.+=';

/** A random password from the browser's CSPRNG (rejection sampling: no modulo bias); 20 characters ≈ 119 bits. */
export function generateRootPassword(length = 20, random: (a: Uint8Array) => Uint8Array = (a) => crypto.getRandomValues(a)): string {
  const limit = 256 - (256 % ALPHABET.length);
  let out = '';
  while (out.length < length) {
    for (const b of random(new Uint8Array(length * 2))) {
      if (b < limit && out.length < length) out += ALPHABET[b % ALPHABET.length];
    }
  }
  return out;
}
