import { Inject, Injectable } from '@nestjs/common';
import { NOTIFICATION_KINDS, NOTIFICATION_KIND_LIST, type NotificationKind, type NotificationPreferenceView, type NotificationView, type TenantRole } from '@oblako/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { MailService } from '../mail/mail.service.js';

/** Who in a tenant hears of each kind. */
const AUDIENCE: Record<NotificationKind, TenantRole[]> = {
  'server.ready': ['owner', 'admin', 'member'],
  'task.failed': ['owner', 'admin', 'member'],
  'payment.failed': ['owner', 'billing'],
  'server.suspended': ['owner', 'admin', 'member', 'billing'],
  'server.unsuspended': ['owner', 'admin', 'member', 'billing'],
  'quota.warning': ['owner', 'admin', 'member'],
  'quota.reached': ['owner', 'admin', 'member'],
  'node.maintenance': ['owner', 'admin', 'member'],
  'backup.failed': ['owner', 'admin', 'member'],
  'webhook.disabled': ['owner', 'admin'],
  security: [],
};

/** Mail this user gets whatever they chose: billing mail to owners, and what is not optional at all. */
export function mandatoryFor(kind: NotificationKind, role: TenantRole | null): boolean {
  const k = NOTIFICATION_KINDS[kind];
  if (!k.optional) return true;
  return 'billing' in k && k.billing === true && role === 'owner';
}

export interface NotifyInput {
  tenantId: string;
  kind: NotificationKind;
  /** One line. */
  title: string;
  /** Plain text; shown in the panel and as the mail's first paragraph. */
  body: string;
  /** Panel path, e.g. `/servers/<id>`. */
  link?: string | null;
  /** Label/value pairs for the mail (address, login, ...). */
  facts?: [string, string][];
  /** The same key twice makes one notification (every API replica sees the same event). */
  dedupKey?: string | null;
}

/**
 * Tells a tenant what happened: an entry in the panel, and a mail to each member the kind is for
 * who has not turned that kind off (some cannot be turned off). Call it from anywhere with the
 * caller's transaction (or null): `notifications.notify(m, { tenantId, kind: 'quota.warning', ... })`.
 */
@Injectable()
export class NotificationsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(MailService) private readonly mail: MailService,
  ) {}

  async notify(m: EntityManager | null, n: NotifyInput): Promise<boolean> {
    const run = async (tx: EntityManager) => {
      const rows: { id: string }[] = await tx.query(
        `INSERT INTO notifications (tenant_id, kind, title, body, link, dedup_key) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
        [n.tenantId, n.kind, n.title, n.body, n.link ?? null, n.dedupKey ?? null],
      );
      if (!rows.length) return false;
      const roles = AUDIENCE[n.kind];
      const recipients: { user_id: string; email: string; role: TenantRole; email_on: boolean | null }[] = await tx.query(
        `SELECT u.id AS user_id, u.email, ms.role, p.email AS email_on
           FROM memberships ms JOIN users u ON u.id = ms.user_id
           LEFT JOIN notification_preferences p ON p.user_id = u.id AND p.kind = $2
          WHERE ms.tenant_id = $1 AND ms.role = ANY($3::varchar[])`,
        [n.tenantId, n.kind, roles],
      );
      for (const r of recipients) {
        if (r.email_on === false && !mandatoryFor(n.kind, r.role)) continue;
        await this.mail.enqueue(tx, {
          to: r.email, template: `notify.${n.kind}`, tenantId: n.tenantId, userId: r.user_id,
          content: (brand) => ({
            subject: n.title,
            paragraphs: [n.body],
            facts: n.facts,
            action: n.link ? { label: 'Open the panel', url: `${brand.panelUrl}${n.link}` } : undefined,
            footnote: mandatoryFor(n.kind, r.role) ? undefined : `You get this because of your notification settings: ${brand.panelUrl}/notifications`,
          }),
        });
      }
      return true;
    };
    const created = m ? await run(m) : await this.ds.transaction(run);
    if (created && !m) this.mail.wake();
    return created;
  }

  async list(tenantId: string, userId: string, limit = 50): Promise<{ items: NotificationView[]; unread: number }> {
    const [seen]: { seen_at: Date }[] = await this.ds.query('SELECT seen_at FROM notification_seen WHERE user_id = $1 AND tenant_id = $2', [userId, tenantId]);
    const rows: { id: string; kind: NotificationKind; title: string; body: string; link: string | null; created_at: Date }[] = await this.ds.query(
      'SELECT id, kind, title, body, link, created_at FROM notifications WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2',
      [tenantId, limit],
    );
    const seenAt = seen?.seen_at ?? null;
    const [{ n }]: { n: number }[] = await this.ds.query(
      'SELECT count(*)::int AS n FROM notifications WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR created_at > $2)',
      [tenantId, seenAt],
    );
    return {
      unread: n,
      items: rows.map((r) => ({
        id: r.id, kind: r.kind, title: r.title, body: r.body, link: r.link, createdAt: r.created_at.toISOString(),
        readAt: seenAt && r.created_at <= seenAt ? seenAt.toISOString() : null,
      })),
    };
  }

  async markSeen(tenantId: string, userId: string): Promise<void> {
    await this.ds.query(
      `INSERT INTO notification_seen (user_id, tenant_id, seen_at) VALUES ($1, $2, now()) ON CONFLICT (user_id, tenant_id) DO UPDATE SET seen_at = now()`,
      [userId, tenantId],
    );
  }

  async preferences(userId: string, role: TenantRole | null): Promise<NotificationPreferenceView[]> {
    const rows: { kind: NotificationKind; email: boolean }[] = await this.ds.query('SELECT kind, email FROM notification_preferences WHERE user_id = $1', [userId]);
    const chosen = new Map(rows.map((r) => [r.kind, r.email]));
    return NOTIFICATION_KIND_LIST.map((kind) => {
      const optional = !mandatoryFor(kind, role);
      return { kind, label: NOTIFICATION_KINDS[kind].label, optional, email: optional ? (chosen.get(kind) ?? true) : true };
    });
  }

  async setPreferences(userId: string, role: TenantRole | null, prefs: { kind: NotificationKind; email: boolean }[]): Promise<NotificationPreferenceView[]> {
    await this.ds.transaction(async (m) => {
      for (const p of prefs) {
        if (!NOTIFICATION_KIND_LIST.includes(p.kind)) continue;
        await m.query(
          `INSERT INTO notification_preferences (user_id, kind, email) VALUES ($1, $2, $3) ON CONFLICT (user_id, kind) DO UPDATE SET email = EXCLUDED.email, updated_at = now()`,
          [userId, p.kind, p.email],
        );
      }
    });
    return this.preferences(userId, role);
  }
}
