import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';

/**
 * NATS in operator mode, as Oblako runs it (the installer, the demo and the tests all build it
 * from here): an operator with a signing key, the system account, and the application account
 * `OBLAKO` (JetStream on). The API signs one restricted user per node with the account key; to
 * revoke a node's old users it re-signs the account JWT, with its revocation list, with the
 * operator's signing key and pushes it to the server (full resolver) as the system account's user.
 */
export const APP_ACCOUNT_NAME = 'OBLAKO';

const APP_ACCOUNT_LIMITS = {
  mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1, subs: -1, data: -1, payload: -1, conn: -1,
  imports: -1, exports: -1, wildcards: true, leaf: -1,
};
// No JetStream in the system account (nats-server refuses it).
const SYSTEM_ACCOUNT_LIMITS = { subs: -1, data: -1, payload: -1, conn: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 };

const enc = new TextEncoder();
const dec = new TextDecoder();
export const keyOf = (seed: string): KeyPair => fromSeed(enc.encode(seed));
export const seedOf = (kp: KeyPair): string => dec.decode(kp.getSeed());

/** The application account's JWT; `revocations` maps a user's public key to the time (epoch s) before which its JWTs are void. */
export function encodeAppAccount(accountPublicKey: string, signer: KeyPair, revocations: Record<string, number> = {}): Promise<string> {
  return encodeAccount(APP_ACCOUNT_NAME, fromPublic(accountPublicKey), { limits: APP_ACCOUNT_LIMITS, ...(Object.keys(revocations).length ? { revocations } : {}) }, { signer });
}

export function encodeSystemAccount(systemPublicKey: string, signer: KeyPair): Promise<string> {
  return encodeAccount('SYS', fromPublic(systemPublicKey), { limits: SYSTEM_ACCOUNT_LIMITS }, { signer });
}

export function encodeOperatorJwt(operator: KeyPair, systemPublicKey: string, signingKeys: string[]): Promise<string> {
  return encodeOperator('oblako', operator, { system_account: systemPublicKey, signing_keys: signingKeys });
}

/** A `.creds` file for a user of `account` (no permission limits: the API's own user, the system user). */
export async function userCreds(name: string, user: KeyPair, account: KeyPair): Promise<string> {
  return dec.decode(fmtCreds(await encodeUser(name, user, account, {}), user));
}

export interface OperatorModeConfig {
  operatorJwt: string;
  systemPublicKey: string;
  /** Account public key → JWT, loaded at start (the API pushes newer ones). */
  preload: Record<string, string>;
  /** Folder of the full resolver (pushed account JWTs live there). */
  resolverDir: string;
}

/** The operator-mode part of a nats-server configuration file. */
export function natsServerAuthBlock(c: OperatorModeConfig): string {
  return [
    `operator: "${c.operatorJwt}"`,
    `system_account: "${c.systemPublicKey}"`,
    `resolver: { type: full, dir: ${JSON.stringify(c.resolverDir)}, allow_delete: false, interval: "2m" }`,
    'resolver_preload: {',
    ...Object.entries(c.preload).map(([k, v]) => `  "${k}": "${v}"`),
    '}',
  ].join('\n');
}

/** The keys of an Oblako NATS deployment; secret, kept by whoever runs nats-server (installer: /etc/oblako/nats/keys.json, 0600). */
export interface NatsKeys {
  operatorSeed: string;
  /** Signs account JWTs; the API holds it (NATS_OPERATOR_SIGNING_SEED) to push revocations. */
  operatorSigningSeed: string;
  systemSeed: string;
  systemUserSeed: string;
  accountSeed: string;
  apiUserSeed: string;
}

export interface NatsOperatorMode {
  /** The keys, with any that were missing made now: store them. */
  keys: NatsKeys;
  /** nats-server configuration lines for operator mode with a full resolver at `resolverDir`. */
  serverConfig(resolverDir: string): string;
  /** The API's own user (NATS_CREDS). */
  apiCreds: string;
  /** A system-account user (NATS_SYSTEM_CREDS): pushes account updates. */
  systemCreds: string;
}

/** Build (or rebuild from stored keys) everything operator mode needs. Idempotent for the same keys. */
export async function natsOperatorMode(stored: Partial<NatsKeys> = {}): Promise<NatsOperatorMode> {
  const { createAccount, createOperator, createUser } = await import('@nats-io/nkeys');
  const keys: NatsKeys = {
    operatorSeed: stored.operatorSeed ?? seedOf(createOperator()),
    operatorSigningSeed: stored.operatorSigningSeed ?? seedOf(createOperator()),
    systemSeed: stored.systemSeed ?? seedOf(createAccount()),
    systemUserSeed: stored.systemUserSeed ?? seedOf(createUser()),
    accountSeed: stored.accountSeed ?? seedOf(createAccount()),
    apiUserSeed: stored.apiUserSeed ?? seedOf(createUser()),
  };
  const operator = keyOf(keys.operatorSeed);
  const signing = keyOf(keys.operatorSigningSeed);
  const system = keyOf(keys.systemSeed);
  const account = keyOf(keys.accountSeed);
  const operatorJwt = await encodeOperatorJwt(operator, system.getPublicKey(), [signing.getPublicKey()]);
  const preload = {
    [system.getPublicKey()]: await encodeSystemAccount(system.getPublicKey(), signing),
    // without revocations: the API pushes the account with its list at start and on every change
    [account.getPublicKey()]: await encodeAppAccount(account.getPublicKey(), signing),
  };
  return {
    keys,
    serverConfig: (resolverDir) => natsServerAuthBlock({ operatorJwt, systemPublicKey: system.getPublicKey(), preload, resolverDir }),
    apiCreds: await userCreds('oblako-api', keyOf(keys.apiUserSeed), account),
    systemCreds: await userCreds('oblako-system', keyOf(keys.systemUserSeed), system),
  };
}
