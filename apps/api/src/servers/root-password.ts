import { ServerError } from './servers.errors.js';

/** What a root password may be: 8 to 128 characters, none of them a control character. */
export const ROOT_PASSWORD_PATTERN = /^[^\p{Cc}]{8,128}$/u;
export const ROOT_PASSWORD_RULE = 'rootPassword must be 8 to 128 characters, without control characters (tab, newline, ...)';

/**
 * Nobody could log in to a server with neither an SSH key nor a root password: refused with a 400 that names
 * both fields (order and rebuild alike).
 */
export function requireLogin(sshKeyIds: readonly string[], rootPassword: string | null | undefined): void {
  if (sshKeyIds.length > 0 || (rootPassword !== undefined && rootPassword !== null)) return;
  const problem = 'give an SSH key (sshKeyIds), a root password (rootPassword), or both: otherwise nobody can log in';
  throw new ServerError('invalid_input', `The server needs a way in: ${problem}.`, [
    { field: 'sshKeyIds', problems: [problem] },
    { field: 'rootPassword', problems: [problem] },
  ]);
}
