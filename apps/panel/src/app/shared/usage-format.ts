/**
 * Units and rows of the usage graphs (server page, node page). Pure: unit-tested with node:test.
 * Rates are decimal (SI), as network and disk speeds are sold: 1 Mbit/s = 1,000,000 bit/s, 1 MB/s = 1,000,000 B/s.
 */

import type { components } from '../core/api/openapi.js';

export const USAGE_RANGES = ['1h', '24h', '7d', '30d'] as const;
export type UsageRangeKey = (typeof USAGE_RANGES)[number];
export const RANGE_LABELS: Record<UsageRangeKey, string> = { '1h': '1 hour', '24h': '24 hours', '7d': '7 days', '30d': '30 days' };

/**
 * What the panel needs of a point: the API's UsagePointDto from the OpenAPI document (so it cannot drift from the
 * API), less the memory the charts do not draw.
 */
export type UsagePointLike = Omit<components['schemas']['UsagePointDto'], 'memoryBytes'>;

function scaled(v: number, units: string[], base = 1000): string {
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  const digits = x >= 100 || i === 0 ? 0 : x >= 10 ? 1 : 2;
  const text = x.toFixed(digits).replace(/\.0+$|(\.\d*?)0+$/, '$1');
  return `${v < 0 ? '-' : ''}${text} ${units[i]}`;
}

/** 1234567 → "1.23 Mbit/s"; null (a gap) → "—". */
export function formatBitsPerSecond(v: number | null): string {
  return v === null ? '—' : scaled(v, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s']);
}

/** 1500000 → "1.5 MB/s". */
export function formatBytesPerSecond(v: number | null): string {
  return v === null ? '—' : scaled(v, ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s']);
}

/** 12.5 → "12.5 IOPS", 1500 → "1.5k IOPS". */
export function formatIops(v: number | null): string {
  if (v === null) return '—';
  return v >= 1000 ? `${scaled(v, ['', 'k', 'M']).replace(' ', '')} IOPS` : `${Number(v.toFixed(v >= 100 ? 0 : 1))} IOPS`;
}

export function formatPercent(v: number | null): string {
  return v === null ? '—' : `${Number(v.toFixed(v >= 10 ? 0 : 1))} %`;
}

/** Time of a point for its range: a clock time for 1 h / 24 h, a date and hour for 7 d / 30 d (UTC when asked). */
export function formatPointTime(iso: string, range: UsageRangeKey, locale = 'en', timeZone?: string): string {
  const d = new Date(iso);
  const opts: Intl.DateTimeFormatOptions =
    range === '1h' || range === '24h' ? { hour: '2-digit', minute: '2-digit', hour12: false } : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false };
  if (range === '24h') opts.weekday = 'short';
  return new Intl.DateTimeFormat(locale, { ...opts, ...(timeZone ? { timeZone } : {}) }).format(d);
}

export interface UsageSummary {
  /** Points with samples. */
  metered: number;
  /** Runs of points without samples (a gap drawn as a break in the line). */
  gaps: number;
  text: string;
}

/** What a screen reader hears for a chart: its latest value, its peak, how much of the range has data and how many gaps. */
export function summarize(points: UsagePointLike[], label: string, pick: (p: UsagePointLike) => number | null, format: (v: number | null) => string): UsageSummary {
  let metered = 0;
  let gaps = 0;
  let inGap = false;
  let peak: number | null = null;
  let last: number | null = null;
  for (const p of points) {
    const v = p.seconds > 0 ? pick(p) : null;
    if (v === null) {
      if (!inGap && metered > 0) gaps++;
      inGap = true;
      continue;
    }
    inGap = false;
    metered++;
    last = v;
    if (peak === null || v > peak) peak = v;
  }
  if (metered === 0) return { metered, gaps: 0, text: `${label}: no data in this range.` };
  const text = `${label}: latest ${format(last)}, peak ${format(peak)}; ${metered} of ${points.length} points have data` + (gaps ? `, ${gaps} gap${gaps === 1 ? '' : 's'}.` : '.');
  return { metered, gaps, text };
}
