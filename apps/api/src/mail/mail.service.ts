import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import { PeriodicJob } from '../common/periodic-job.js';
import type { AppConfig, SmtpSecurity } from '../config/config.js';
import { seal, unseal } from '../auth/secrets.js';
import { brandOf, MailSettingsService, type MailSettings } from './mail-settings.js';
import { accountMail, render, type Brand, type MailContent } from './templates.js';

export interface QueuedMail {
  to: string;
  /** Template name, for the log and the tests. */
  template: string;
  /** The content, or a function of the brand in force (links to the panel, the provider's name). */
  content: MailContent | ((brand: Brand) => MailContent);
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

/** What the SMTP server answered to a test mail (POST /api/v1/admin/settings/mail/test). */
export interface SmtpTestResult {
  sent: boolean;
  /** The server's last reply line, e.g. "250 OK: message queued" or "535 Authentication failed". */
  response: string | null;
  responseCode: number | null;
  /** nodemailer's error code when not sent (EAUTH, ECONNECTION, ETIMEDOUT, ...). */
  errorCode: string | null;
  message: string;
}

/**
 * Outgoing mail goes through a queue in PostgreSQL: `enqueue` writes the rendered mail in the
 * caller's transaction (so a mail exists exactly when the change it tells about does), and a worker
 * on every API replica sends due mail over SMTP (`FOR UPDATE SKIP LOCKED` batches, a lease so a
 * crashed worker's mail is taken up again), retrying with exponential backoff: an SMTP outage
 * delays mail and loses none. Bodies are sealed with the data key while queued (they may carry a
 * one-time link) and removed once sent. The SMTP server, sender and brand are the effective mail
 * settings (MailSettingsService): each pass checks their version and rebuilds the transport when
 * staff changed them, on every replica.
 */
@Injectable()
export class MailService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Mail');
  private transport: Transporter | null = null;
  /** The settings version the transport was built from. */
  private transportVersion = -1;
  /** One pass at a time per replica; a wake during a pass runs another right after. */
  private readonly job = new PeriodicJob({
    everyMs: this.config.mail.pollMs,
    pass: async () => {
      while (!this.job.isStopped && (await this.sendBatch()) === BATCH);
    },
    logger: this.logger,
    failed: 'Mail pass failed',
  });

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MailSettingsService) private readonly settings: MailSettingsService,
  ) {}

  /** The brand in force (read in `m`'s transaction when given). */
  brand(m?: EntityManager): Promise<Brand> {
    return this.settings.brand(m);
  }

  async enqueue(m: EntityManager, mail: QueuedMail): Promise<string> {
    const brand = await this.settings.brand(m);
    const r = render(brand, typeof mail.content === 'function' ? mail.content(brand) : mail.content);
    const [row]: { id: string }[] = await m.query(
      `INSERT INTO mail_queue (to_address, template, subject, payload, tenant_id, user_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [mail.to, mail.template, r.subject, seal(this.config.dataKey, JSON.stringify({ text: r.text, html: r.html })), mail.tenantId ?? null, mail.userId ?? null],
    );
    return row!.id;
  }

  /** Send what is due soon (after the caller's transaction has committed). */
  wake(): void {
    if (this.job.isStopped) return;
    setImmediate(() => void this.drain());
  }

  onApplicationBootstrap(): void {
    if (!this.ds.isInitialized) return;
    void this.settings.effective().then(
      (s) => { if (!s.settings.host) this.logger.warn('No SMTP server configured (SMTP_HOST, or Mail settings in the panel): mail waits in the queue until one is.'); },
      () => undefined,
    );
    this.job.start();
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job.stop();
    this.transport?.close();
  }

  /** Send what is due (one pass at a time per replica; a wake during a pass runs another right after). */
  drain(): Promise<void> {
    return this.job.run();
  }

  private async sendBatch(): Promise<number> {
    const { version, settings } = await this.settings.effective();
    if (version !== this.transportVersion) {
      if (this.transportVersion !== -1) this.logger.log(`Mail settings changed (version ${version}): sending through ${settings.host ? `${settings.host}:${settings.port} (${settings.security})` : 'no SMTP server'}`);
      this.transport?.close();
      this.transport = null;
      this.transportVersion = version;
    }
    if (!settings.host) return 0;
    const due: { id: string; to_address: string; subject: string; payload: string | null; attempts: number; created_at: Date }[] = await this.ds.query(
      `UPDATE mail_queue SET state = 'sending', attempts = attempts + 1, locked_until = now() + make_interval(secs => $2)
        WHERE id IN (SELECT id FROM mail_queue
                      WHERE (state = 'queued' AND next_attempt_at <= now()) OR (state = 'sending' AND locked_until < now())
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, to_address, subject, payload, attempts, created_at`,
      [BATCH, LEASE_SECONDS],
    ).then((r: [unknown[], number]) => r[0] as never);
    for (const mail of due) await this.sendOne(mail, settings);
    return due.length;
  }

  private async sendOne(mail: { id: string; to_address: string; subject: string; payload: string | null; attempts: number; created_at: Date }, settings: MailSettings): Promise<void> {
    try {
      if (!mail.payload) throw new Error('the queued mail has no body');
      const body = JSON.parse(unseal(this.config.dataKey, mail.payload)) as { text: string; html: string };
      await this.smtp(settings).sendMail({ from: settings.from, to: mail.to_address, subject: mail.subject, text: body.text, html: body.html });
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

  private smtp(settings: MailSettings): Transporter {
    this.transport ??= createSmtpTransport(settings);
    return this.transport;
  }

  /**
   * Send one test mail now, with the settings in force and a transport of its own (not through the
   * queue), and say what the SMTP server answered.
   */
  async sendTest(to: string): Promise<SmtpTestResult> {
    const { settings } = await this.settings.effective();
    if (!settings.host) return { sent: false, response: null, responseCode: null, errorCode: null, message: 'No SMTP server is set: fill in the host first.' };
    const brand = brandOf(settings);
    const r = render(brand, accountMail.testMail(brand, settings.host ? `${settings.host}:${settings.port}` : ''));
    const transport = createSmtpTransport(settings);
    try {
      const info = (await transport.sendMail({ from: settings.from, to, subject: r.subject, text: r.text, html: r.html })) as { response?: string; rejected?: unknown[] };
      const response = info.response ?? null;
      return { sent: true, response, responseCode: smtpCode(response), errorCode: null, message: `The SMTP server accepted the mail to ${to}.` };
    } catch (err) {
      const e = err as Error & { code?: string; response?: string; responseCode?: number };
      return { sent: false, response: e.response ?? null, responseCode: e.responseCode ?? smtpCode(e.response ?? null), errorCode: e.code ?? null, message: e.message.slice(0, 500) };
    } finally {
      transport.close();
    }
  }
}

function smtpCode(response: string | null): number | null {
  const m = response?.match(/^(\d{3})/);
  return m ? Number(m[1]) : null;
}

export interface SmtpServerSettings {
  host: string | null;
  port: number;
  security: SmtpSecurity;
  user: string | null;
  password: string | null;
  tlsVerify: boolean;
}

export function createSmtpTransport(c: SmtpServerSettings): Transporter {
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
