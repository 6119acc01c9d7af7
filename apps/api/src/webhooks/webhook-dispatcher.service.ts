import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import { PeriodicJob } from '../common/periodic-job.js';
import type { AppConfig } from '../config/config.js';
import { MailService } from '../mail/mail.service.js';
import { NotificationsService } from '../notifications/notifications.service.js';
import { signatureHeader } from './signing.js';
import { UnsafeUrlError, vetWebhookUrl, type VettedTarget } from './ssrf.js';
import { WebhooksService } from './webhooks.service.js';

const BATCH = 10;
const LEASE_SECONDS = 120;
const RETRY_CAP_MS = 6 * 3600_000;
/** Kept of a receiver's answer, for the delivery log. */
const BODY_KEPT = 512;

export function webhookRetryDelayMs(baseSeconds: number, attempts: number): number {
  return Math.min(RETRY_CAP_MS, baseSeconds * 1000 * 2 ** Math.max(0, attempts - 1));
}

interface Due { id: string; tenant_id: string; endpoint_id: string; event_id: string; attempts: number; created_at: Date }

export interface SendResult { status: number | null; error: string | null; ms: number }

/**
 * Sends due webhook deliveries on every replica (`FOR UPDATE SKIP LOCKED` batches with a lease).
 * Each request goes to the address the URL's host resolved to when it was vetted (pinned, no
 * redirects followed), signed with the endpoint's secret(s). A delivery that fails is retried with
 * exponential backoff until it is `maxAgeSeconds` old; an endpoint that has failed that long is
 * turned off and the tenant's owners and admins are told.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly job = new PeriodicJob({
    everyMs: this.config.webhooks.pollMs,
    pass: async () => {
      while (!this.job.isStopped && (await this.batch()) === BATCH);
    },
    logger: this.logger,
    failed: 'Webhook pass failed',
  });

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WebhooksService) private readonly webhooks: WebhooksService,
    @Inject(MailService) private readonly mail: MailService,
    @Inject(NotificationsService) private readonly notifications: NotificationsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.ds.isInitialized) return;
    this.webhooks.wake = () => setImmediate(() => void this.drain());
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.webhooks.wake = () => undefined;
    await this.job.stop();
  }

  drain(): Promise<void> {
    return this.job.run();
  }

  private async batch(): Promise<number> {
    const [due]: [Due[], number] = await this.ds.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, locked_until = now() + make_interval(secs => $2)
        WHERE id IN (SELECT id FROM webhook_deliveries
                      WHERE state = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, tenant_id, endpoint_id, event_id, attempts, created_at`,
      [BATCH, LEASE_SECONDS],
    );
    await Promise.all(due.map((d) => this.deliver(d).catch((err: Error) => this.logger.warn(`Delivery ${d.id}: ${err.message}`))));
    return due.length;
  }

  private async deliver(d: Due): Promise<void> {
    const [ep]: { url: string; enabled: boolean; secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null }[] = await this.ds.query(
      'SELECT url, enabled, secret, previous_secret, previous_secret_expires_at FROM webhook_endpoints WHERE id = $1',
      [d.endpoint_id],
    );
    if (!ep || !ep.enabled) {
      await this.ds.query(`UPDATE webhook_deliveries SET state = 'failed', last_error = 'the endpoint was turned off', locked_until = NULL WHERE id = $1`, [d.id]);
      return;
    }
    const [ev]: { payload: string }[] = await this.ds.query('SELECT payload FROM webhook_events WHERE id = $1', [d.event_id]);
    const body = ev!.payload;
    let result: SendResult;
    const t0 = performance.now();
    try {
      const target = await vetWebhookUrl(ep.url, this.config.webhooks.allowLocalhost, this.webhooks.resolver);
      const ts = Math.floor(Date.now() / 1000);
      result = await sendPinned(target, body, {
        'content-type': 'application/json',
        'user-agent': 'Oblako-Webhooks/1',
        'oblako-webhook-id': d.event_id,
        'oblako-delivery-id': d.id,
        'oblako-webhook-timestamp': String(ts),
        'oblako-signature': signatureHeader(this.webhooks.secretsOf(ep), ts, body),
      }, this.config.webhooks.timeoutMs);
    } catch (err) {
      result = { status: null, error: err instanceof UnsafeUrlError ? err.message : `${(err as Error).message}`, ms: performance.now() - t0 };
    }
    await this.record(d, result);
  }

  private async record(d: Due, r: SendResult): Promise<void> {
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    const maxAgeMs = this.config.webhooks.maxAgeSeconds * 1000;
    const disabled = await this.ds.transaction(async (m) => {
      await m.query('INSERT INTO webhook_attempts (delivery_id, status_code, error, duration_ms) VALUES ($1, $2, $3, $4)', [d.id, r.status, r.error, Math.round(r.ms)]);
      if (ok) {
        await m.query(`UPDATE webhook_deliveries SET state = 'succeeded', delivered_at = now(), last_status = $2, last_error = NULL, last_attempt_at = now(), locked_until = NULL WHERE id = $1`, [d.id, r.status]);
        await m.query('UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL', [d.endpoint_id]);
        return null;
      }
      const error = r.error ?? `the receiver answered ${r.status}`;
      const tooOld = Date.now() - d.created_at.getTime() >= maxAgeMs;
      await m.query(
        `UPDATE webhook_deliveries SET state = $2, last_status = $3, last_error = $4, last_attempt_at = now(), locked_until = NULL,
                next_attempt_at = now() + make_interval(secs => $5::double precision / 1000) WHERE id = $1`,
        [d.id, tooOld ? 'failed' : 'pending', r.status, error.slice(0, 500), webhookRetryDelayMs(this.config.webhooks.retryBaseSeconds, d.attempts)],
      );
      const [ep]: { failing_since: Date; tenant_id: string; url: string; enabled: boolean }[] = await m.query(
        'UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = $1 RETURNING failing_since, tenant_id, url, enabled',
        [d.endpoint_id],
      ).then((x: [unknown[], number]) => x[0] as never);
      if (!ep?.enabled || Date.now() - ep.failing_since.getTime() < maxAgeMs) return null;
      const days = Math.round(this.config.webhooks.maxAgeSeconds / 86400);
      const reason = `every delivery failed for ${days >= 1 ? `${days} day(s)` : `${this.config.webhooks.maxAgeSeconds} s`} (last: ${error.slice(0, 200)})`;
      await m.query(`UPDATE webhook_endpoints SET enabled = false, disabled_at = now(), disabled_reason = $2, updated_at = now() WHERE id = $1`, [d.endpoint_id, reason]);
      await m.query(`UPDATE webhook_deliveries SET state = 'failed', last_error = coalesce(last_error, 'the endpoint was turned off') WHERE endpoint_id = $1 AND state = 'pending'`, [d.endpoint_id]);
      await m.query(
        `INSERT INTO audit_log (tenant_id, actor_kind, action, target_type, target_id, details) VALUES ($1, 'system', 'webhook.disabled', 'webhook_endpoint', $2, $3)`,
        [ep.tenant_id, d.endpoint_id, JSON.stringify({ reason })],
      );
      // The owners and admins are told by mail (whatever their preferences) and in the panel.
      await this.notifications.notify(m, {
        tenantId: ep.tenant_id, kind: 'webhook.disabled', link: '/webhooks', dedupKey: `webhook-disabled:${d.endpoint_id}:${ep.failing_since.toISOString()}`,
        title: 'A webhook endpoint was turned off',
        body: `We turned off the webhook endpoint ${ep.url}: ${reason}. Deliveries that had not gone through are marked failed; send them again from the panel once the endpoint works and is turned back on.`,
      });
      return ep.url;
    });
    if (disabled) {
      this.logger.warn(`Webhook endpoint ${d.endpoint_id} (${disabled}) turned off after failing for ${this.config.webhooks.maxAgeSeconds} s`);
      this.mail.wake();
    }
  }
}

/** POST to the vetted address only: the socket connects there whatever DNS says now; no redirects are followed. */
export function sendPinned(target: VettedTarget, body: string, headers: Record<string, string>, timeoutMs: number): Promise<SendResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const secure = target.url.protocol === 'https:';
    const req = (secure ? httpsRequest : httpRequest)(target.url, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      lookup: (_host, _opts, cb) => {
        // Node asks with all: true on some paths; answer in the shape it asked for.
        if ((_opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
        else cb(null, target.address, target.family);
      },
      timeout: timeoutMs,
      ...(secure ? { servername: target.url.hostname } : {}),
    }, (res) => {
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        kept += chunk.length;
        if (kept > 64 * 1024) res.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? null, error: res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? `redirect to ${String(res.headers.location ?? '?').slice(0, 200)} not followed` : null, ms: performance.now() - t0 }));
      res.on('error', () => resolve({ status: res.statusCode ?? null, error: null, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ status: null, error: err.message.slice(0, BODY_KEPT), ms: performance.now() - t0 }));
    req.end(body);
  });
}
