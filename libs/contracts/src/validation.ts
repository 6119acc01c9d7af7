/** Input rules shared by the panel (early feedback) and the API (the authority). */

/** RFC 1123 host name: labels of 1-63 letters, digits and inner hyphens; 253 characters at most. */
export const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function hostnameProblem(hostname: string): string | null {
  if (hostname.length === 0) return 'Enter a host name.';
  if (hostname.length > 253) return 'A host name may be at most 253 characters long.';
  for (const label of hostname.split('.')) {
    if (label.length === 0) return 'A host name may not have empty labels (two dots in a row, or a dot at either end).';
    if (label.length > 63) return `The label "${label.slice(0, 20)}…" is longer than 63 characters.`;
    if (!/^[a-z0-9-]+$/i.test(label)) return `The label "${label}" may contain only letters, digits and hyphens.`;
    if (label.startsWith('-') || label.endsWith('-')) return `The label "${label}" may not start or end with a hyphen.`;
  }
  return null;
}

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;
export const SSH_KEY_MAX_LENGTH = 16384;
export const NAME_MAX_LENGTH = 120;

/** Request bodies larger than this are refused with 413. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;
/** Deepest nesting of objects and arrays a request body may have (the deepest real body is 4 levels). */
export const MAX_JSON_DEPTH = 32;
