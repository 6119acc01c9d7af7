/** Outbound webhooks and notifications: what a tenant can subscribe to. */

export const WEBHOOK_CATEGORIES = ['server', 'task', 'billing', 'usage'] as const;
export type WebhookCategory = (typeof WEBHOOK_CATEGORIES)[number];

/** Every event type and the category an endpoint subscribes to for it. */
export const WEBHOOK_EVENT_TYPES = {
  'server.state_changed': 'server',
  'task.succeeded': 'task',
  'task.failed': 'task',
  'billing.payment_failed': 'billing',
  'billing.payment_succeeded': 'billing',
  'usage.quota_reached': 'usage',
} as const satisfies Record<string, WebhookCategory>;
export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

export function webhookCategoryOf(type: WebhookEventType): WebhookCategory {
  return WEBHOOK_EVENT_TYPES[type];
}

export interface WebhookEndpointView {
  id: string;
  url: string;
  description: string | null;
  events: WebhookCategory[];
  enabled: boolean;
  disabledAt: string | null;
  /** Why it was turned off (by a member, or after failing for 3 days). */
  disabledReason: string | null;
  /** Every delivery has failed since then; at 3 days the endpoint is turned off. */
  failingSince: string | null;
  /** After a rotation the previous secret still signs (beside the new one) until then. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
}

export interface WebhookDeliveryView {
  id: string;
  endpointId: string;
  /** The event's id (`Oblako-Webhook-Id`): the same for every delivery of one event, resends included. */
  eventId: string;
  eventType: string;
  state: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

/** What a tenant is told about, by email and in the panel. */
export const NOTIFICATION_KINDS = {
  'server.ready': { label: 'A server is ready', optional: true },
  'task.failed': { label: 'A task failed', optional: true },
  'payment.failed': { label: 'A payment failed', optional: true, billing: true },
  'server.suspended': { label: 'A server was suspended', optional: true },
  'server.unsuspended': { label: 'A server was unsuspended', optional: true },
  'quota.warning': { label: 'Traffic quota at 80 %', optional: true },
  'quota.reached': { label: 'Traffic quota used up', optional: true },
  'node.maintenance': { label: 'Maintenance of a host your servers run on', optional: true },
  'backup.failed': { label: 'A backup failed', optional: true },
  'webhook.disabled': { label: 'A webhook endpoint was turned off', optional: false },
  security: { label: 'Security: password changes, two-factor sign-in, recovery codes', optional: false },
} as const satisfies Record<string, { label: string; optional: boolean; billing?: boolean }>;
export type NotificationKind = keyof typeof NOTIFICATION_KINDS;
export const NOTIFICATION_KIND_LIST = Object.keys(NOTIFICATION_KINDS) as NotificationKind[];

export interface NotificationView {
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  /** Panel path to open, e.g. /servers/<id>. */
  link: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface NotificationPreferenceView {
  kind: NotificationKind;
  label: string;
  email: boolean;
  /** False for mail that cannot be turned off for this user (security; billing mail to owners). */
  optional: boolean;
}
