import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';

/**
 * NATS in operator mode, as production runs it: an operator, a system account and the
 * application account (JetStream on). The API connects as a user of the application account and
 * holds the account's seed to sign one restricted user per node; nodes never share a user.
 */
export interface NatsAuth {
  /** nats-server configuration file to pass with -c. */
  configFile: string;
  /** The API's .creds file (NATS_CREDS). */
  apiCredsFile: string;
  /** Account seed the API signs node users with (NATS_ACCOUNT_SEED). Secret. */
  accountSeed: string;
}

interface Stored {
  operatorSeed: string;
  systemSeed: string;
  accountSeed: string;
  apiUserSeed: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const seedOf = (kp: KeyPair) => dec.decode(kp.getSeed());
const kpOf = (seed: string) => fromSeed(enc.encode(seed));

/** Create (once) and write the keys, JWTs and server configuration under `dir` (mode 0700). */
export async function prepareNatsAuth(dir: string): Promise<NatsAuth> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const keysFile = join(dir, 'keys.json');
  let stored: Stored;
  if (existsSync(keysFile)) {
    stored = JSON.parse(readFileSync(keysFile, 'utf8')) as Stored;
  } else {
    stored = {
      operatorSeed: seedOf(createOperator()),
      systemSeed: seedOf(createAccount()),
      accountSeed: seedOf(createAccount()),
      apiUserSeed: seedOf(createUser()),
    };
    writeFileSync(keysFile, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  const operator = kpOf(stored.operatorSeed);
  const system = kpOf(stored.systemSeed);
  const account = kpOf(stored.accountSeed);
  const apiUser = kpOf(stored.apiUserSeed);

  const operatorJwt = await encodeOperator('oblako', operator, { system_account: system.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const accountJwt = await encodeAccount(
    'OBLAKO',
    account,
    { limits: { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1, subs: -1, data: -1, payload: -1, conn: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 } },
    { signer: operator },
  );
  const apiJwt = await encodeUser('oblako-api', apiUser, account, {});

  const configFile = join(dir, 'nats-server.conf');
  writeFileSync(
    configFile,
    [
      `operator: "${operatorJwt}"`,
      `system_account: "${system.getPublicKey()}"`,
      'resolver: MEMORY',
      'resolver_preload: {',
      `  "${system.getPublicKey()}": "${systemJwt}"`,
      `  "${account.getPublicKey()}": "${accountJwt}"`,
      '}',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const apiCredsFile = join(dir, 'api.creds');
  writeFileSync(apiCredsFile, dec.decode(fmtCreds(apiJwt, apiUser)), { mode: 0o600 });
  return { configFile, apiCredsFile, accountSeed: stored.accountSeed };
}
