/** Formatting helpers for people. Pure: unit-tested with node:test. */

export function formatMoney(cents: number, currency: string, locale = 'en'): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}

/** A plan's price with its unit: "€5.00 per month", or for a plan billed by the hour "€0.07 per hour". */
export function formatPlanPrice(p: { priceMonthlyCents: number; priceHourlyCents?: number | null; currency: string }): string {
  return p.priceHourlyCents != null ? `${formatMoney(p.priceHourlyCents, p.currency)} per hour` : `${formatMoney(p.priceMonthlyCents, p.currency)} per month`;
}

export function formatMiB(mib: number): string {
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024} GiB`;
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  return `${mib} MiB`;
}

export function formatGiB(gib: number): string {
  return gib >= 1024 ? `${(gib / 1024).toFixed(gib % 1024 === 0 ? 0 : 1)} TiB` : `${gib} GiB`;
}

/** Used share in percent, 0..100, safe for zero totals. */
export function percent(used: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.max(0, Math.min(100, Math.round((used / total) * 100)));
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "ready", "pending_payment" → "pending payment". */
export function humanize(value: string): string {
  return value.replace(/_/g, ' ');
}

export function formatDateTime(iso: string | null | undefined, locale = 'en'): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** A random id; works outside secure contexts too (crypto.randomUUID needs HTTPS or localhost). */
export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * The size of an address block for people, exact with BigInt: "14" for a /28, "a /64 (2^64)" for
 * an IPv6 /64, whose 18,446,744,073,709,551,616 addresses are past JavaScript's safe integers.
 */
export function blockSizeText(cidr: string): string {
  const [addr, bitsText] = cidr.split('/');
  const width = addr?.includes(':') ? 128 : 32;
  const prefix = Number(bitsText ?? width);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) return '?';
  const hostBits = width - prefix;
  const count = 1n << BigInt(hostBits);
  if (hostBits <= 20) return count.toLocaleString('en');
  return `a /${prefix} (2^${hostBits})`;
}
