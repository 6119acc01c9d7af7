import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { DataSource, type EntityManager } from 'typeorm';
import { natsServerList } from '@oblako/contracts';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig } from '../config/config.js';
import { encodeAppAccount, keyOf } from '../messaging/nats-account.js';
import { mintNodeCredentials, type NodeCredentials } from '../messaging/nats-credentials.js';
import { NatsService } from '../messaging/nats.service.js';

const USER_KEY = /^U[A-Z2-7]{55}$/;

/**
 * Every NATS user a node is given. Issuing a new one revokes the node's older ones: the account
 * JWT is re-signed with the revocation list and pushed to nats-server (full resolver), which
 * closes their connections and refuses them from then on. Pushes are serialised across API
 * replicas by an advisory lock taken in the issuing transaction, so a push never carries an older
 * list than one already pushed; the push happens before the commit, so a failed push hands out
 * nothing and revokes nothing.
 */
@Injectable()
export class NodeCredentialsService implements OnApplicationBootstrap {
  private readonly logger = new Logger('NodeCredentials');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether old credentials can be revoked (operator signing key and system user configured). */
  get revocable(): boolean {
    return !!(this.config.natsAccountSeed && this.config.natsOperatorSigningSeed && this.config.natsSystemCredsFile);
  }

  /** At start, push the account as PostgreSQL knows it: a NATS restarted from its preload gets the revocations back. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.revocable) return;
    await this.ds
      .transaction((m) => this.pushAccount(m))
      .catch((err: unknown) => this.logger.error(`Could not push the NATS account with its revocation list: ${(err as Error).message}`));
  }

  /** A new NATS user for the node, in the caller's transaction; the node's other users are revoked. Null without NATS_ACCOUNT_SEED. */
  async issue(m: EntityManager, nodeId: string): Promise<NodeCredentials | null> {
    if (!this.config.natsAccountSeed) return null;
    const minted = await mintNodeCredentials(this.config.natsAccountSeed, this.nats.subjects, nodeId);
    // a user minted before this table existed is only on the node row
    const [node]: { nats_user: string }[] = await m.query('SELECT nats_user FROM nodes WHERE id = $1 FOR UPDATE', [nodeId]);
    if (node && USER_KEY.test(node.nats_user)) {
      await m.query('INSERT INTO node_credentials (node_id, user_public_key) VALUES ($1, $2) ON CONFLICT (user_public_key) DO NOTHING', [nodeId, node.nats_user]);
    }
    const revoked: unknown[] = await m.query('UPDATE node_credentials SET revoked_at = now() WHERE node_id = $1 AND revoked_at IS NULL RETURNING id', [nodeId]);
    await m.query('INSERT INTO node_credentials (node_id, user_public_key) VALUES ($1, $2)', [nodeId, minted.userPublicKey]);
    await m.query('UPDATE nodes SET nats_user = $2 WHERE id = $1', [nodeId, minted.userPublicKey]);
    if (revoked.length) {
      if (this.revocable) await this.pushAccount(m);
      else this.logger.warn(`Node ${nodeId} has new NATS credentials, but its old ones stay valid: set NATS_OPERATOR_SIGNING_SEED and NATS_SYSTEM_CREDS to revoke them`);
    }
    return minted;
  }

  /** Revoke every user of the node (it is being deleted), in the caller's transaction. */
  async revokeAll(m: EntityManager, nodeId: string): Promise<void> {
    const revoked: unknown[] = await m.query('UPDATE node_credentials SET revoked_at = now() WHERE node_id = $1 AND revoked_at IS NULL RETURNING id', [nodeId]);
    if (revoked.length && this.revocable) await this.pushAccount(m);
  }

  private async pushAccount(m: EntityManager): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('oblako.nats-account'))`);
    const rows: { user_public_key: string; at: string }[] = await m.query(
      `SELECT user_public_key, ceil(extract(epoch FROM revoked_at))::bigint AS at FROM node_credentials WHERE revoked_at IS NOT NULL`,
    );
    const revocations = Object.fromEntries(rows.map((r) => [r.user_public_key, Number(r.at)]));
    const accountKey = keyOf(this.config.natsAccountSeed!).getPublicKey();
    const jwt = await encodeAppAccount(accountKey, keyOf(this.config.natsOperatorSigningSeed!), revocations);
    const nc = await connect({
      servers: natsServerList(this.config.natsUrl),
      name: 'oblako-api-account-push',
      authenticator: credsAuthenticator(readFileSync(this.config.natsSystemCredsFile!)),
      ...(this.config.natsCaFile ? { tls: { caFile: this.config.natsCaFile } } : {}),
      timeout: 5000,
    });
    try {
      const reply = await nc.request('$SYS.REQ.CLAIMS.UPDATE', jwt, { timeout: 5000 });
      const answer = reply.json<{ data?: { code?: number; message?: string }; error?: { code?: number; description?: string } }>();
      if (answer.data?.code !== 200) throw new Error(`nats-server refused the account update: ${answer.error?.description ?? answer.data?.message ?? reply.string()}`);
    } finally {
      await nc.close().catch(() => undefined);
    }
    this.logger.log(`NATS account pushed with ${rows.length} revoked node user(s)`);
  }
}
