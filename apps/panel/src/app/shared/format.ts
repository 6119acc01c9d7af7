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

/** A size in bytes for people: "812 KiB", "245 MiB", "1.0 GiB" (binary units, as disks are sold). */
export function formatBytes(bytes: number): string {
  if (!(bytes > 0)) return '0 B';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${Math.round(bytes / 1024)} KiB`;
  if (bytes < 1024 ** 3) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  if (bytes < 1024 ** 4) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return `${(bytes / 1024 ** 4).toFixed(1)} TiB`;
}

/** A duration for people: "850 ms", "42 s", "3 min 5 s", "1 h 12 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !(ms >= 0)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
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
