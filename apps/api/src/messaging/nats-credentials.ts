import { encodeUser, fmtCreds } from '@nats-io/jwt';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { natsNodePermissions, type Subjects } from '@oblako/contracts';

export interface NodeCredentials {
  /** Public nkey of the node's NATS user (U...). */
  userPublicKey: string;
  /** The .creds file the daemon reads (NATS_CREDS): a user JWT and its nkey seed. Shown once. */
  creds: string;
}

function seedKind(seed: string): string | null {
  try {
    return fromSeed(new TextEncoder().encode(seed)).getPublicKey()[0] ?? null;
  } catch {
    return null;
  }
}

/** True when `seed` is an account nkey seed (SA...). */
export function isAccountSeed(seed: string): boolean {
  return seedKind(seed) === 'A';
}

/** True when `seed` is an operator nkey seed (SO...), e.g. an operator signing key. */
export function isOperatorSeed(seed: string): boolean {
  return seedKind(seed) === 'O';
}

/**
 * Mint a NATS user for one node, signed by the account's key: it may pull and ack only its own
 * commands, publish only its own events and heartbeat, and read only its own inbox.
 */
export async function mintNodeCredentials(accountSeed: string, s: Subjects, nodeId: string): Promise<NodeCredentials> {
  const account = fromSeed(new TextEncoder().encode(accountSeed));
  const user = createUser();
  const perms = natsNodePermissions(s, nodeId);
  const jwt = await encodeUser(`node-${nodeId}`, user, account, {
    pub: { allow: perms.publish, deny: [] },
    sub: { allow: perms.subscribe, deny: [] },
  });
  return { userPublicKey: user.getPublicKey(), creds: new TextDecoder().decode(fmtCreds(jwt, user)) };
}
