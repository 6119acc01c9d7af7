import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  EventKind, IMAGE_VERIFY_OP, ImageProgressEventSchema, ImageStateEventSchema, WIRE_VERSION, type ImageNodeStateView, type ImageProgressEvent, type ImageStateEvent, type ImageVerifyCommand,
} from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { CatalogueError } from '../catalogue/catalogue.errors.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { Actor } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { NatsService } from '../messaging/nats.service.js';
import { NodeEventHandlers, type NodeEventHandler } from '../node-events/event-handlers.js';

/** A `verifying` request the node never answered (lost, or the node restarted mid-fetch) is sent again after this. */
const STALE_REQUEST_SECONDS = 600;

/**
 * SQL condition: image `i` is verified on some node of location `$loc` (or of any location when `$loc` is null)
 * for its current checksum. The one definition of "offered" for the catalogue and the order.
 */
export const IMAGE_VERIFIED_SQL = (image: string, location: string) =>
  `EXISTS (SELECT 1 FROM image_node_states v JOIN nodes n ON n.id = v.node_id
            WHERE v.image_id = ${image}.id AND v.sha256 = ${image}.sha256 AND v.state = 'verified'
              AND (CAST(${location} AS uuid) IS NULL OR n.location_id = CAST(${location} AS uuid)))`;

interface ImageRow { id: string; name: string; url: string; sha256: string; format: 'qcow2' | 'raw' }

/**
 * Verified images (issues 13 and 15). An image staff add is offered to customers only once a node has fetched it
 * and checked its sha256: the API sends the node an `image_verify` command (its own subject beside the operations'
 * commands; it names no server, so it is no task), the node answers with an `image.state` event, and this service
 * keeps one row per image and node. Each heartbeat has its node check the active images it has not checked for
 * their current checksum (with REQUIRE_VERIFIED_IMAGES), so the demo's and a new node's images verify by
 * themselves; staff can ask again ("Verify now"). A failure keeps the node's reason and the image stays unoffered.
 */
@Injectable()
export class ImageVerificationService implements NodeEventHandler<ImageStateEvent>, OnModuleInit {
  private readonly logger = new Logger('ImageVerification');
  readonly kind = EventKind.ImageState;
  readonly schema = ImageStateEventSchema;
  /** Nodes whose heartbeat check is running (one at a time per node per replica). */
  private readonly checking = new Set<string>();

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  /** Staff: where an image stands on every node (nodes never asked are `unverified`). */
  async statesOf(imageId: string): Promise<ImageNodeStateView[]> {
    const [image]: { sha256: string }[] = await this.ds.query('SELECT sha256 FROM images WHERE id = $1 AND deleted_at IS NULL', [imageId]);
    if (!image) throw new CatalogueError('image_not_found', `No image with id ${imageId}.`);
    const rows: { node_id: string; node_name: string; location_id: string; state: string | null; sha256: string | null; reason: string | null; checked_at: Date | null; requested_at: Date | null; progress_bytes: string | null; progress_total: string | null }[] =
      await this.ds.query(
        `SELECT n.id AS node_id, n.name AS node_name, n.location_id, v.state, v.sha256, v.reason, v.checked_at, v.requested_at, v.progress_bytes, v.progress_total
           FROM nodes n LEFT JOIN image_node_states v ON v.node_id = n.id AND v.image_id = $1
          ORDER BY n.name`,
        [imageId],
      );
    return rows.map((r) => {
      const current = r.state !== null && r.sha256 === image.sha256;
      return {
        nodeId: r.node_id, nodeName: r.node_name, locationId: r.location_id,
        state: current ? (r.state as ImageNodeStateView['state']) : 'unverified',
        reason: current && r.state === 'failed' ? r.reason : null,
        checkedAt: current && r.checked_at ? new Date(r.checked_at).toISOString() : null,
        requestedAt: current && r.requested_at ? new Date(r.requested_at).toISOString() : null,
        progressBytes: current && r.state === 'verifying' && r.progress_bytes !== null ? Number(r.progress_bytes) : null,
        progressTotal: current && r.state === 'verifying' && r.progress_total !== null ? Number(r.progress_total) : null,
      };
    });
  }

  /** Staff's "Verify now": ask the node to fetch and check the image again (audited). */
  async verifyNow(actor: Actor, imageId: string, nodeId: string): Promise<ImageNodeStateView> {
    const image = await this.imageRow(imageId);
    const [node]: { id: string }[] = await this.ds.query('SELECT id FROM nodes WHERE id = $1', [nodeId]);
    if (!node) throw new CatalogueError('node_not_found', `No node with id ${nodeId}.`);
    await this.request(image, nodeId, async (m) => {
      await this.audit.record(m, { tenantId: null, actorUserId: actor.userId, actorKind: 'staff', action: 'image.verify', targetType: 'image', targetId: imageId, ip: actor.ip, details: { nodeId, sha256: image.sha256 } });
    });
    return (await this.statesOf(imageId)).find((s) => s.nodeId === nodeId)!;
  }

  /**
   * A node's heartbeat: ask it to check each active image it has no answer for (for the current checksum), and
   * again any request it left unanswered for 10 minutes. Failed checks wait for staff ("Verify now") or a new
   * checksum: a mismatch does not download again by itself every heartbeat.
   */
  async checkMissing(nodeId: string): Promise<void> {
    if (!this.config.requireVerifiedImages || this.checking.has(nodeId)) return;
    this.checking.add(nodeId);
    try {
      const due: ImageRow[] = await this.ds.query(
        `SELECT i.id, i.name, i.url, i.sha256, i.format FROM images i
           LEFT JOIN image_node_states v ON v.image_id = i.id AND v.node_id = $1
          WHERE i.active AND (v.image_id IS NULL OR v.sha256 <> i.sha256
                OR (v.state = 'verifying' AND v.requested_at < now() - make_interval(secs => $2)))`,
        [nodeId, STALE_REQUEST_SECONDS],
      );
      for (const image of due) {
        await this.request(image, nodeId).catch((err: unknown) => this.logger.warn(`Cannot ask node ${nodeId} to verify image ${image.id}: ${(err as Error).message}`));
      }
    } finally {
      this.checking.delete(nodeId);
    }
  }

  /** The node's answer: only for the request it answers and the image's current checksum (a stale answer changes nothing). */
  async handle(nodeId: string, e: ImageStateEvent): Promise<void> {
    const res: unknown[] = await this.ds.query(
      `UPDATE image_node_states v SET state = $4, reason = $5, checked_at = now()
         FROM images i
        WHERE v.image_id = $1 AND v.node_id = $2 AND v.request_id = $3 AND i.id = v.image_id AND i.sha256 = $6 AND v.sha256 = $6
        RETURNING v.image_id`,
      [e.imageId, nodeId, e.requestId, e.ok ? 'verified' : 'failed', e.ok ? null : (e.reason ?? 'the node gave no reason'), e.sha256],
    );
    const changed = Array.isArray(res[0]) ? (res[0] as unknown[]).length : res.length;
    if (changed && e.ok && e.virtualBytes !== undefined) {
      // the disk a guest of this image sees: an order, rebuild or resize with a smaller plan disk is refused by the API
      await this.ds.query('UPDATE images SET virtual_size_bytes = $2 WHERE id = $1 AND sha256 = $3', [e.imageId, e.virtualBytes, e.sha256]);
    }
    if (changed) this.logger[e.ok ? 'log' : 'warn'](`Image ${e.imageId} on node ${nodeId}: ${e.ok ? 'verified' : `failed: ${e.reason ?? ''}`}`);
  }

  private async imageRow(imageId: string): Promise<ImageRow> {
    const [image]: ImageRow[] = await this.ds.query('SELECT id, name, url, sha256, format FROM images WHERE id = $1 AND deleted_at IS NULL', [imageId]);
    if (!image) throw new CatalogueError('image_not_found', `No image with id ${imageId}.`);
    return image;
  }

  /**
   * Mark the image `verifying` on the node with a fresh request id, then publish the command (`Nats-Msg-Id` = the
   * request id). A publish that fails leaves the row `verifying` with an old request time: the next heartbeat's
   * check sends it again after 10 minutes, and "Verify now" at once.
   */
  private async request(image: ImageRow, nodeId: string, alsoInTx?: (m: EntityManager) => Promise<void>): Promise<void> {
    const requestId = randomUUID();
    await this.ds.transaction(async (m) => {
      await m.query(
        `INSERT INTO image_node_states (image_id, node_id, sha256, state, reason, request_id, requested_at)
         VALUES ($1, $2, $3, 'verifying', NULL, $4, now())
         ON CONFLICT (image_id, node_id) DO UPDATE SET sha256 = EXCLUDED.sha256, state = 'verifying', reason = NULL, request_id = EXCLUDED.request_id, requested_at = now(),
           progress_bytes = NULL, progress_total = NULL, progress_at = NULL`,
        [image.id, nodeId, image.sha256, requestId],
      );
      await alsoInTx?.(m);
    });
    const cmd: ImageVerifyCommand = { v: WIRE_VERSION, kind: IMAGE_VERIFY_OP, requestId, nodeId, imageId: image.id, url: image.url, sha256: image.sha256, format: image.format, issuedAt: Date.now() };
    await this.nats.js.publish(this.nats.subjects.nodeCommand(nodeId, IMAGE_VERIFY_OP), JSON.stringify(cmd), { msgID: requestId, timeout: 5000 });
  }
}

/**
 * `image.progress`: the node's download for the current request, under way. Only the latest is kept, per image and
 * node, while that request is still `verifying` (a late or reordered one never moves the count back, nor touches an
 * answered row); staff see it as "fetching 43 %". Advisory: the answer (`image.state`) is what counts.
 */
@Injectable()
export class ImageProgressHandler implements NodeEventHandler<ImageProgressEvent>, OnModuleInit {
  readonly kind = EventKind.ImageProgress;
  readonly schema = ImageProgressEventSchema;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async handle(nodeId: string, e: ImageProgressEvent): Promise<void> {
    await this.ds.query(
      `UPDATE image_node_states SET progress_bytes = $4, progress_total = $5, progress_at = now()
        WHERE image_id = $1 AND node_id = $2 AND request_id = $3 AND sha256 = $6 AND state = 'verifying'
          AND (progress_bytes IS NULL OR progress_bytes <= $4)`,
      [e.imageId, nodeId, e.requestId, e.bytes, e.total, e.sha256],
    );
  }
}
