import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { NodeJoinResultView, NodeJoinStatusView, NodeJoinView, NodeState } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../common/config.provider.js';
import { domainErrorClass } from '../common/domain-error.js';
import type { AppConfig } from '../config/config.js';
import { NodeCredentialsService } from './node-credentials.service.js';

export const JOIN_SCRIPT = 'join-node.sh';
export const NODE_BUNDLE = 'oblako-node.tar.gz';
const TOKEN_PREFIX = 'ojt_';
const TOKEN = /^ojt_[A-Za-z0-9_-]{43}$/;

const STATUS = {
  join_token_missing: 401,
  join_token_unknown: 401,
  join_token_used: 410,
  join_token_expired: 410,
  node_bundle_missing: 404,
} as const;
export type NodeJoinErrorCode = keyof typeof STATUS;

export class NodeJoinError extends domainErrorClass<NodeJoinErrorCode>(STATUS) {}

interface TokenRow {
  id: string;
  node_id: string;
  node_name: string;
  expires_at: Date;
  used_at: Date | null;
}

const sha256 = (token: string) => createHash('sha256').update(token).digest();
const MAKE_NEW = 'Make a new join command: panel → Nodes → "Join command" on the node, or POST /api/v1/admin/nodes/{id}/join.';

/**
 * Joining a hypervisor: staff get one command with a single-use token (1 h by default, stored as
 * SHA-256 only); the host's join script trades it, once, for the node's own NATS credentials.
 * A newer token replaces the node's unused older ones.
 */
@Injectable()
export class NodeJoinService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(NodeCredentialsService) private readonly credentials: NodeCredentialsService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /** A new join token for the node, in the caller's transaction. */
  async newToken(m: EntityManager, nodeId: string, actorUserId: string | null): Promise<NodeJoinView> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    await m.query('DELETE FROM node_join_tokens WHERE node_id = $1 AND used_at IS NULL', [nodeId]);
    const [row]: { expires_at: Date }[] = await m.query(
      `INSERT INTO node_join_tokens (node_id, token_sha256, expires_at, created_by) VALUES ($1, $2, now() + make_interval(secs => $3), $4) RETURNING expires_at`,
      [nodeId, sha256(token), this.config.nodes.tokenTtlSeconds, actorUserId],
    );
    return { nodeId, token, expiresAt: new Date(row!.expires_at).toISOString(), command: this.command(token) };
  }

  /** The one line staff paste on the hypervisor. Secrets travel in the environment of `bash`, never in an argument. */
  command(token: string): string {
    const base = this.config.panelUrl;
    const pin = this.config.nodes.tlsPin;
    const https = base.startsWith('https:');
    const curl = ['curl', '-fsS', ...(https ? ["--proto '=https'"] : []), ...(pin ? ['-k', `--pinnedpubkey '${pin}'`] : []), `'${base}/api/v1/join/node.sh'`].join(' ');
    const env = [`OBLAKO_URL='${base}'`, ...(pin ? [`OBLAKO_TLS_PIN='${pin}'`] : []), `OBLAKO_JOIN_TOKEN='${token}'`].join(' ');
    return `${curl} | ${env} bash`;
  }

  /** The token must exist, be unused and unexpired. */
  async check(authorization: string | undefined): Promise<TokenRow> {
    return this.usable(this.ds.manager, authorization, false);
  }

  /** Trade the token for the node's own NATS credentials; the node's older credentials are revoked. */
  async exchange(authorization: string | undefined, ip: string | null, hostname: string | undefined): Promise<NodeJoinResultView> {
    return this.ds.transaction(async (m) => {
      const row = await this.usable(m, authorization, true);
      await m.query('UPDATE node_join_tokens SET used_at = now(), used_from = $2 WHERE id = $1', [row.id, ip?.slice(0, 64) ?? null]);
      const creds = await this.credentials.issue(m, row.node_id);
      if (!creds) throw new NodeJoinError('join_token_unknown', 'This API hands out no node credentials (NATS_ACCOUNT_SEED is not set); a node cannot join it.');
      await this.audit.record(m, {
        tenantId: null, actorUserId: null, actorKind: 'node', action: 'node.join', targetType: 'node', targetId: row.node_id, ip,
        details: { natsUser: creds.userPublicKey, ...(hostname ? { hostname: hostname.slice(0, 253) } : {}) },
      });
      const caFile = this.config.nodes.natsCaFile;
      return {
        nodeId: row.node_id,
        nodeName: row.node_name,
        natsUrl: this.config.nodes.natsUrl,
        subjectPrefix: this.config.natsSubjectPrefix,
        natsCreds: creds.creds,
        ...(caFile ? { natsCa: readFileSync(caFile, 'utf8') } : {}),
      };
    });
  }

  /** How the node is doing, for the join script; the spent token keeps this one right until it expires. */
  async status(authorization: string | undefined): Promise<NodeJoinStatusView> {
    const row = await this.find(this.ds.manager, authorization, false);
    if (row.expires_at.getTime() < Date.now()) throw expired(row);
    const [node]: { id: string; name: string; state: NodeState; last_heartbeat_at: Date | null }[] = await this.ds.query(
      'SELECT id, name, state, last_heartbeat_at FROM nodes WHERE id = $1',
      [row.node_id],
    );
    const last = node?.last_heartbeat_at ? new Date(node.last_heartbeat_at) : null;
    return {
      nodeId: row.node_id,
      nodeName: row.node_name,
      state: node!.state,
      online: node!.state === 'online' && !!last && Date.now() - last.getTime() < this.config.fleet.nodeOfflineAfterSeconds * 1000, // the housekeeping's own threshold
      lastHeartbeatAt: last?.toISOString() ?? null,
    };
  }

  /** Path of a file of the node bundle (the join script, the daemon's tarball), or a clear 404. */
  bundleFile(name: typeof JOIN_SCRIPT | typeof NODE_BUNDLE): string {
    const dir = this.config.nodes.bundleDir;
    const path = dir ? join(dir, name) : null;
    if (!path || !existsSync(path)) {
      throw new NodeJoinError('node_bundle_missing', `This API has no node bundle (${name}); install the control plane with tools/install/install.sh, which sets NODE_BUNDLE_DIR.`);
    }
    return path;
  }

  private async usable(m: EntityManager, authorization: string | undefined, lock: boolean): Promise<TokenRow> {
    const row = await this.find(m, authorization, lock);
    if (row.used_at) {
      throw new NodeJoinError('join_token_used', `This join token was already used (${new Date(row.used_at).toISOString()}); each one joins a node once. ${MAKE_NEW}`);
    }
    if (row.expires_at.getTime() < Date.now()) throw expired(row);
    return row;
  }

  private async find(m: EntityManager, authorization: string | undefined, lock: boolean): Promise<TokenRow> {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1]?.trim();
    if (!token) throw new NodeJoinError('join_token_missing', 'Send the join token as "Authorization: Bearer ojt_..." (the join command does this).');
    if (!TOKEN.test(token)) throw new NodeJoinError('join_token_unknown', `That is not a join token (they start with "${TOKEN_PREFIX}"). ${MAKE_NEW}`);
    const rows: TokenRow[] = await m.query(
      `SELECT t.id, t.node_id, n.name AS node_name, t.expires_at, t.used_at FROM node_join_tokens t JOIN nodes n ON n.id = t.node_id
        WHERE t.token_sha256 = $1 ${lock ? 'FOR UPDATE OF t' : ''}`,
      [sha256(token)],
    );
    const row = rows[0];
    if (!row) throw new NodeJoinError('join_token_unknown', `This join token is not known: a newer one replaced it, or its node was deleted. ${MAKE_NEW}`);
    return { ...row, expires_at: new Date(row.expires_at), used_at: row.used_at ? new Date(row.used_at) : null };
  }
}

function expired(row: TokenRow): NodeJoinError {
  return new NodeJoinError('join_token_expired', `This join token expired at ${row.expires_at.toISOString()} (they last an hour). ${MAKE_NEW}`);
}
