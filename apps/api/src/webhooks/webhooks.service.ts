import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { WEBHOOK_CATEGORIES, webhookCategoryOf, type WebhookCategory, type WebhookDeliveryView, type WebhookEndpointView, type WebhookEventType } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { newSecret, seal, unseal } from '../auth/secrets.js';
import { APP_CONFIG } from '../common/config.provider.js';
import type { Actor } from '../common/request-context.js';
import type { AppConfig } from '../config/config.js';
import { UnsafeUrlError, vetWebhookUrl, type Resolver, systemResolver } from './ssrf.js';
import { WebhookError } from './webhooks.errors.js';

/** A rotated secret keeps signing (beside the new one) for this long. */
export const ROTATION_OVERLAP_SECONDS = 24 * 3600;
export const MAX_ENDPOINTS_PER_TENANT = 20;

interface EndpointRow {
  id: string; tenant_id: string; url: string; description: string | null; events: WebhookCategory[]; enabled: boolean; disabled_at: Date | null;
  disabled_reason: string | null; failing_since: Date | null; previous_secret_expires_at: Date | null; created_at: Date;
}

const ENDPOINT_COLUMNS = 'id, tenant_id, url, description, events, enabled, disabled_at, disabled_reason, failing_since, previous_secret_expires_at, created_at';

/**
 * Tenants register endpoints and choose event categories; every event of a category is written
 * once (`webhook_events`, deduplicated by key) with one delivery per subscribed endpoint, in the
 * transaction that caused it when there is one. The dispatcher sends them.
 */
@Injectable()
export class WebhooksService {
  /** Set by the dispatcher: send new deliveries now rather than at the next poll. */
  wake: () => void = () => undefined;
  resolver: Resolver = systemResolver;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  private async vet(url: string): Promise<void> {
    try {
      await vetWebhookUrl(url, this.config.webhooks.allowLocalhost, this.resolver);
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new WebhookError('unsafe_url', err.message);
      throw err;
    }
  }

  async create(tenantId: string, actor: Actor, input: { url: string; events: WebhookCategory[]; description?: string | null }): Promise<WebhookEndpointView & { secret: string }> {
    await this.vet(input.url);
    const secret = newSecret('whsec');
    return this.ds.transaction(async (m) => {
      const [{ n }]: { n: number }[] = await m.query('SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1', [tenantId]);
      if (n >= MAX_ENDPOINTS_PER_TENANT) throw new WebhookError('too_many_endpoints', `A team may have ${MAX_ENDPOINTS_PER_TENANT} endpoints; remove one first.`);
      const [row]: EndpointRow[] = await m.query(
        `INSERT INTO webhook_endpoints (tenant_id, url, description, events, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
        [tenantId, input.url, input.description ?? null, uniq(input.events), seal(this.config.dataKey, secret)],
      );
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'webhook.create', targetType: 'webhook_endpoint', targetId: row!.id, ip: actor.ip, details: { url: input.url, events: input.events } });
      return { ...endpointView(row!), secret };
    });
  }

  async list(tenantId: string): Promise<WebhookEndpointView[]> {
    const rows: EndpointRow[] = await this.ds.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
    return rows.map(endpointView);
  }

  async get(tenantId: string, id: string): Promise<WebhookEndpointView> {
    return endpointView(await this.row(this.ds.manager, tenantId, id));
  }

  private async row(m: EntityManager, tenantId: string, id: string, lock = false): Promise<EndpointRow> {
    const [row]: EndpointRow[] = await m.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 ${lock ? 'FOR UPDATE' : ''}`, [tenantId, id]);
    if (!row) throw new WebhookError('endpoint_not_found', 'No webhook endpoint with that id in this team.');
    return row;
  }

  async update(tenantId: string, actor: Actor, id: string, input: { url?: string; events?: WebhookCategory[]; description?: string | null; enabled?: boolean }): Promise<WebhookEndpointView> {
    if (input.url !== undefined) await this.vet(input.url);
    return this.ds.transaction(async (m) => {
      const cur = await this.row(m, tenantId, id, true);
      const enabled = input.enabled ?? cur.enabled;
      const [[row]]: [EndpointRow[], number] = await m.query(
        `UPDATE webhook_endpoints SET url = $3, events = $4, description = $5, enabled = $6,
                disabled_at = CASE WHEN $6 THEN NULL ELSE coalesce(disabled_at, now()) END,
                disabled_reason = CASE WHEN $6 THEN NULL WHEN enabled THEN 'turned off by a member' ELSE disabled_reason END,
                failing_since = CASE WHEN $6 AND NOT enabled THEN NULL ELSE failing_since END, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
        [tenantId, id, input.url ?? cur.url, input.events ? uniq(input.events) : cur.events, input.description === undefined ? cur.description : input.description, enabled],
      );
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'webhook.update', targetType: 'webhook_endpoint', targetId: id, ip: actor.ip, details: { ...input } });
      return endpointView(row!);
    });
  }

  async remove(tenantId: string, actor: Actor, id: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      await this.row(m, tenantId, id, true);
      await m.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'webhook.delete', targetType: 'webhook_endpoint', targetId: id, ip: actor.ip });
    });
  }

  /** A new secret (shown once); the old one keeps signing beside it for 24 hours. */
  async rotateSecret(tenantId: string, actor: Actor, id: string): Promise<{ secret: string; previousSecretExpiresAt: string }> {
    const secret = newSecret('whsec');
    return this.ds.transaction(async (m) => {
      await this.row(m, tenantId, id, true);
      const [[row]]: [{ previous_secret_expires_at: Date }[], number] = await m.query(
        `UPDATE webhook_endpoints SET previous_secret = secret, secret = $3, previous_secret_expires_at = now() + make_interval(secs => $4), updated_at = now()
          WHERE tenant_id = $1 AND id = $2 RETURNING previous_secret_expires_at`,
        [tenantId, id, seal(this.config.dataKey, secret), ROTATION_OVERLAP_SECONDS],
      );
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'webhook.rotate_secret', targetType: 'webhook_endpoint', targetId: id, ip: actor.ip });
      return { secret, previousSecretExpiresAt: row!.previous_secret_expires_at.toISOString() };
    });
  }

  /** The secrets a delivery is signed with now: the current one, and the previous one while it overlaps. */
  secretsOf(row: { secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null }): string[] {
    const out = [unseal(this.config.dataKey, row.secret)];
    if (row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at.getTime() > Date.now()) out.push(unseal(this.config.dataKey, row.previous_secret));
    return out;
  }

  async deliveries(tenantId: string, endpointId: string, limit = 50, before?: string): Promise<WebhookDeliveryView[]> {
    await this.row(this.ds.manager, tenantId, endpointId);
    const rows: DeliveryRow[] = await this.ds.query(
      `SELECT d.id, d.endpoint_id, d.event_id, e.type, d.state, d.attempts, d.last_status, d.last_error, d.last_attempt_at, d.next_attempt_at, d.delivered_at, d.created_at
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
        WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND ($4::timestamptz IS NULL OR d.created_at < $4)
        ORDER BY d.created_at DESC, d.id LIMIT $3`,
      [tenantId, endpointId, limit, before ?? null],
    );
    return rows.map(deliveryView);
  }

  /** Send an event again (a new delivery of the same event id, so the receiver can tell it is the same). */
  async resend(tenantId: string, actor: Actor, deliveryId: string): Promise<WebhookDeliveryView> {
    const view = await this.ds.transaction(async (m) => {
      const [d]: { endpoint_id: string; event_id: string }[] = await m.query('SELECT endpoint_id, event_id FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2', [tenantId, deliveryId]);
      if (!d) throw new WebhookError('delivery_not_found', 'No webhook delivery with that id in this team.');
      const ep = await this.row(m, tenantId, d.endpoint_id);
      if (!ep.enabled) throw new WebhookError('endpoint_disabled', 'The endpoint is turned off; turn it on first (PATCH enabled: true).');
      const [row]: { id: string }[] = await m.query(
        `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id) VALUES ($1, $2, $3) RETURNING id`,
        [tenantId, d.endpoint_id, d.event_id],
      );
      await this.audit.record(m, { tenantId, actorUserId: actor.userId, actorKind: actor.kind, action: 'webhook.resend', targetType: 'webhook_delivery', targetId: row!.id, ip: actor.ip, details: { of: deliveryId } });
      return this.delivery(m, tenantId, row!.id);
    });
    this.wake();
    return view;
  }

  /** A `webhook.test` event to this endpoint only. */
  async ping(tenantId: string, actor: Actor, endpointId: string): Promise<WebhookDeliveryView> {
    const view = await this.ds.transaction(async (m) => {
      const ep = await this.row(m, tenantId, endpointId);
      if (!ep.enabled) throw new WebhookError('endpoint_disabled', 'The endpoint is turned off; turn it on first (PATCH enabled: true).');
      const eventId = await this.insertEvent(m, tenantId, 'webhook.test', { endpointId, message: 'A test event sent from the panel or the API.', by: actor.userId }, null);
      const [row]: { id: string }[] = await m.query('INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id) VALUES ($1, $2, $3) RETURNING id', [tenantId, endpointId, eventId]);
      return this.delivery(m, tenantId, row!.id);
    });
    this.wake();
    return view;
  }

  private async delivery(m: EntityManager, tenantId: string, id: string): Promise<WebhookDeliveryView> {
    const [row]: DeliveryRow[] = await m.query(
      `SELECT d.id, d.endpoint_id, d.event_id, e.type, d.state, d.attempts, d.last_status, d.last_error, d.last_attempt_at, d.next_attempt_at, d.delivered_at, d.created_at
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE d.tenant_id = $1 AND d.id = $2`,
      [tenantId, id],
    );
    return deliveryView(row!);
  }

  private async insertEvent(m: Pick<EntityManager, 'query'>, tenantId: string, type: WebhookEventType | 'webhook.test', data: Record<string, unknown>, dedupKey: string | null): Promise<string | null> {
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const body = JSON.stringify({ id, type, createdAt, tenantId, data });
    const rows: { id: string }[] = await m.query(
      `INSERT INTO webhook_events (id, tenant_id, type, payload, dedup_key) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
      [id, tenantId, type, body, dedupKey],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * Publish an event to every enabled endpoint of the tenant that chose its category. `dedupKey`
   * makes publishing idempotent (every API replica sees the same server change; one event results).
   * Pass the caller's transaction manager so the event exists exactly when the change does.
   */
  async publish(m: Pick<EntityManager, 'query'> | null, tenantId: string, type: WebhookEventType, data: Record<string, unknown>, dedupKey: string | null = null): Promise<number> {
    const q = m ?? this.ds;
    const eventId = await this.insertEvent(q, tenantId, type, data, dedupKey);
    if (!eventId) return 0;
    const rows: unknown[] = await q.query(
      `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id)
       SELECT $1, id, $2 FROM webhook_endpoints WHERE tenant_id = $1 AND enabled AND $3 = ANY(events) RETURNING id`,
      [tenantId, eventId, webhookCategoryOf(type)],
    );
    if (!m && rows.length) this.wake();
    return rows.length;
  }
}

interface DeliveryRow {
  id: string; endpoint_id: string; event_id: string; type: string; state: WebhookDeliveryView['state']; attempts: number; last_status: number | null; last_error: string | null;
  last_attempt_at: Date | null; next_attempt_at: Date | null; delivered_at: Date | null; created_at: Date;
}

function deliveryView(r: DeliveryRow): WebhookDeliveryView {
  return {
    id: r.id, endpointId: r.endpoint_id, eventId: r.event_id, eventType: r.type, state: r.state, attempts: r.attempts, lastStatusCode: r.last_status, lastError: r.last_error,
    lastAttemptAt: r.last_attempt_at?.toISOString() ?? null, nextAttemptAt: r.state === 'pending' ? (r.next_attempt_at?.toISOString() ?? null) : null,
    deliveredAt: r.delivered_at?.toISOString() ?? null, createdAt: r.created_at.toISOString(),
  };
}

function endpointView(r: EndpointRow): WebhookEndpointView {
  return {
    id: r.id, url: r.url, description: r.description, events: r.events, enabled: r.enabled, disabledAt: r.disabled_at?.toISOString() ?? null,
    disabledReason: r.disabled_reason, failingSince: r.failing_since?.toISOString() ?? null,
    previousSecretExpiresAt: r.previous_secret_expires_at && r.previous_secret_expires_at.getTime() > Date.now() ? r.previous_secret_expires_at.toISOString() : null,
    createdAt: r.created_at.toISOString(),
  };
}

function uniq(events: WebhookCategory[]): WebhookCategory[] {
  return WEBHOOK_CATEGORIES.filter((c) => events.includes(c));
}
