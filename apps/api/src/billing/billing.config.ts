/**
 * Billing settings, read once by `loadConfig` (config/config.ts) from the environment.
 * Nothing here reads `process.env`; `loadConfig` passes its validated readers in.
 */
export type BillingConfig = (
  | { enabled: false }
  | {
      enabled: true;
      stripeSecretKey: string;
      /** whsec_...; without it the webhook endpoint answers 503 and nothing is paid. */
      stripeWebhookSecret: string | null;
      /** Another Stripe-compatible host (tests); null = api.stripe.com. */
      stripeApi: { protocol: 'http' | 'https'; host: string; port: number } | null;
    }
) & {
  /** How long a subscription may stay past due before its server is suspended. */
  graceHours: number;
  /** How long a server is kept (suspended) after its subscription ended, before it is deleted. */
  retentionDays: number;
  /** Where Stripe Checkout and the billing portal send the customer back (the panel). */
  returnUrl: string;
  /** How often the billing worker looks for unprocessed webhook events and due suspensions/terminations. */
  pollMs: number;
};

export interface BillingEnvReaders {
  str(name: string): string | undefined;
  int(name: string, def: number, min: number, max: number): number;
  problems: string[];
}

export function readBillingConfig({ str, int, problems }: BillingEnvReaders): BillingConfig {
  const stripeSecretKey = str('STRIPE_SECRET_KEY');
  if (stripeSecretKey && !/^(sk|rk)_(test|live)_/.test(stripeSecretKey)) {
    problems.push('STRIPE_SECRET_KEY must be a Stripe secret key starting with sk_test_, sk_live_, rk_test_ or rk_live_');
  }
  const webhookSecret = str('STRIPE_WEBHOOK_SECRET') ?? null;
  if (webhookSecret && !webhookSecret.startsWith('whsec_')) problems.push('STRIPE_WEBHOOK_SECRET must be the endpoint signing secret starting with whsec_');
  const apiUrl = str('STRIPE_API_URL');
  let stripeApi: { protocol: 'http' | 'https'; host: string; port: number } | null = null;
  if (apiUrl) {
    try {
      const u = new URL(apiUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      const protocol = u.protocol === 'http:' ? 'http' : 'https';
      stripeApi = { protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : protocol === 'http' ? 80 : 443 };
    } catch {
      problems.push(`STRIPE_API_URL must be an http:// or https:// URL such as http://127.0.0.1:12111 (leave it unset for api.stripe.com)`);
    }
  }
  const returnUrl = str('BILLING_RETURN_URL') ?? 'http://localhost:4200';
  try {
    const u = new URL(returnUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    problems.push('BILLING_RETURN_URL must be the panel URL, e.g. https://panel.example.com');
  }
  const common = {
    graceHours: int('BILLING_GRACE_HOURS', 72, 0, 24 * 90),
    retentionDays: int('BILLING_RETENTION_DAYS', 14, 0, 365),
    returnUrl: returnUrl.replace(/\/+$/, ''),
    pollMs: int('BILLING_POLL_MS', 2000, 50, 600_000),
  };
  return stripeSecretKey ? { enabled: true, stripeSecretKey, stripeWebhookSecret: webhookSecret, stripeApi, ...common } : { enabled: false, ...common };
}
