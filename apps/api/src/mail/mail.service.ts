import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig, MailConfig } from '../config/config.js';
import { seal, unseal } from '../auth/secrets.js';
import { render, type Brand, type MailContent } from './templates.js';

export interface QueuedMail {
  to: string;
  /** Template name, for the log and the tests. */
  template: string;
  content: MailContent;
  tenantId?: string | null;
  userId?: string | null;
}

/** A mail that keeps failing is given up after this long (the SMTP server was away for days). */
const GIVE_UP_AFTER_MS = 3 * 24 * 3600_000;
const RETRY_CAP_MS = 3600_000;
/** A worker that took a mail and died: another takes it after this long. */
const LEASE_SECONDS = 120;
const BATCH = 10;

export function mailRetryDelayMs(baseSeconds: number, attempts: number): number {
  return Math.min(RETRY_CAP_MS, baseSeconds * 1000 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Outgoing mail goes through a queue in PostgreSQL: `enqueue` writes the rendered mail in the
 * caller's transaction (so a mail exists exactly when the change it tells about does), and a worker
 * on every API replica sends due mail over SMTP (`FOR UPDATE SKIP LOCKED` batches, a lease so a
 * crashed worker's mail is taken up again), retrying with exponential backoff: an SMTP outage
 * delays mail and loses none. Bodies are sealed with the data key while queued (they may carry a
 * one-time link) and removed once sent.
 */
@Injectable()
export class MailService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Mail');
  private transport: Transporter | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get brand(): Brand {
    return { name: this.config.brand.name, supportEmail: this.config.brand.supportEmail, panelUrl: this.config.panelUrl };
  }

  async enqueue(m: EntityManager, mail: QueuedMail): Promise<string> {
    const r = render(this.brand, mail.content);
    const [row]: { id: string }[] = await m.query(
      `INSERT INTO mail_queue (to_address, template, subject, payload, tenant_id, user_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [mail.to, mail.template, r.subject, seal(this.config.dataKey, JSON.stringify({ text: r.text, html: r.html })), mail.tenantId ?? null, mail.userId ?? null],
    );
    return row!.id;
  }

  /** Send what is due soon (after the caller's transaction has committed). */
  wake(): void {
    if (this.stopped) return;
    setImmediate(() => void this.drain());
  }

  onApplicationBootstrap(): void {
    if (!this.ds.isInitialized) return;
    if (!this.config.mail.host) this.logger.warn('No SMTP server configured (SMTP_HOST): mail waits in the queue until one is.');
    this.stopped = false;
    this.timer = setInterval(() => void this.drain(), this.config.mail.pollMs);
    this.timer.unref();
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.transport?.close();
  }

  /** One pass at a time per replica; a wake during a pass runs another right after. */
  drain(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.sendBatch()) === BATCH);
        } while (this.again && !this.stopped);
      } catch (err) {
        this.logger.warn(`Mail pass failed: ${(err as Error).message}`);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async sendBatch(): Promise<number> {
    if (!this.config.mail.host) return 0;
    const due: { id: string; to_address: string; subject: string; payload: string | null; attempts: number; created_at: Date }[] = await this.ds.query(
      `UPDATE mail_queue SET state = 'sending', attempts = attempts + 1, locked_until = now() + make_interval(secs => $2)
        WHERE id IN (SELECT id FROM mail_queue
                      WHERE (state = 'queued' AND next_attempt_at <= now()) OR (state = 'sending' AND locked_until < now())
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, to_address, subject, payload, attempts, created_at`,
      [BATCH, LEASE_SECONDS],
    ).then((r: [unknown[], number]) => r[0] as never);
    for (const mail of due) await this.sendOne(mail);
    return due.length;
  }

  private async sendOne(mail: { id: string; to_address: string; subject: string; payload: string | null; attempts: number; created_at: Date }): Promise<void> {
    try {
      if (!mail.payload) throw new Error('the queued mail has no body');
      const body = JSON.parse(unseal(this.config.dataKey, mail.payload)) as { text: string; html: string };
      await this.smtp().sendMail({ from: this.config.mail.from, to: mail.to_address, subject: mail.subject, text: body.text, html: body.html });
      await this.ds.query(`UPDATE mail_queue SET state = 'sent', sent_at = now(), payload = NULL, locked_until = NULL, last_error = NULL WHERE id = $1`, [mail.id]);
    } catch (err) {
      const message = (err as Error).message.slice(0, 500);
      const giveUp = Date.now() - mail.created_at.getTime() > GIVE_UP_AFTER_MS;
      const delay = mailRetryDelayMs(this.config.mail.retryBaseSeconds, mail.attempts);
      await this.ds.query(
        `UPDATE mail_queue SET state = $2, locked_until = NULL, last_error = $3, next_attempt_at = now() + make_interval(secs => $4::double precision / 1000) WHERE id = $1`,
        [mail.id, giveUp ? 'failed' : 'queued', message, delay],
      );
      this.logger.warn(`Mail ${mail.id} to ${mail.to_address} not sent (attempt ${mail.attempts}): ${message}; ${giveUp ? 'given up' : `next try in ${Math.round(delay / 1000)} s`}`);
      // A broken connection is not reused.
      this.transport?.close();
      this.transport = null;
    }
  }

  private smtp(): Transporter {
    this.transport ??= createSmtpTransport(this.config.mail);
    return this.transport;
  }
}

export function createSmtpTransport(c: MailConfig): Transporter {
  return nodemailer.createTransport({
    host: c.host!,
    port: c.port,
    secure: c.security === 'tls',
    requireTLS: c.security === 'starttls',
    ignoreTLS: c.security === 'none',
    auth: c.user ? { user: c.user, pass: c.password ?? '' } : undefined,
    tls: { rejectUnauthorized: c.tlsVerify },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}
