import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadApiModule } from './stack.js';

/**
 * NATS in operator mode, as production runs it (built by the API's own `natsOperatorMode`, as the
 * installer does): an operator with a signing key, a system account and the application account
 * (JetStream on), full resolver. The API connects as a user of the application account, signs one
 * restricted user per node, and revokes a node's old users by pushing the account JWT.
 */
export interface NatsAuth {
  /** nats-server configuration file to pass with -c. */
  configFile: string;
  /** The API's .creds file (NATS_CREDS). */
  apiCredsFile: string;
  /** Account seed the API signs node users with (NATS_ACCOUNT_SEED). Secret. */
  accountSeed: string;
  /** Operator signing key (NATS_OPERATOR_SIGNING_SEED) and system user (NATS_SYSTEM_CREDS): revocation. */
  operatorSigningSeed: string;
  systemCredsFile: string;
}

/** Create (once) and write the keys, JWTs and server configuration under `dir` (mode 0700). */
export async function prepareNatsAuth(dir: string): Promise<NatsAuth> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const keysFile = join(dir, 'keys.json');
  const stored = existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : {};
  const api = await loadApiModule();
  const mode = await api.natsOperatorMode(stored);
  writeFileSync(keysFile, JSON.stringify(mode.keys, null, 2), { mode: 0o600 });
  const resolverDir = join(dir, 'resolver');
  mkdirSync(resolverDir, { recursive: true, mode: 0o700 });
  const configFile = join(dir, 'nats-server.conf');
  writeFileSync(configFile, mode.serverConfig(resolverDir) + '\n', { mode: 0o600 });
  const apiCredsFile = join(dir, 'api.creds');
  writeFileSync(apiCredsFile, mode.apiCreds, { mode: 0o600 });
  const systemCredsFile = join(dir, 'system.creds');
  writeFileSync(systemCredsFile, mode.systemCreds, { mode: 0o600 });
  return { configFile, apiCredsFile, accountSeed: mode.keys.accountSeed, operatorSigningSeed: mode.keys.operatorSigningSeed, systemCredsFile };
}
