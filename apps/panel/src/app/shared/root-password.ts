/** The API's rule for a root password (8-128 characters, no control characters), and the confirmation; null when fine or empty. */
export function rootPasswordProblem(password: string, again: string): string | null {
  if (!password && !again) return null;
  if ([...password].length < 8 || [...password].length > 128) return 'The root password must be 8 to 128 characters.';
  if (/\p{Cc}/u.test(password)) return 'The root password may not contain control characters (tab, new line).';
  if (password !== again) return 'The two root passwords differ.';
  return null;
}
