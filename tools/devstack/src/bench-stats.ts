/** What the benchmarks share: a wall clock, their settings from the environment, and percentiles. */
import { performance } from 'node:perf_hooks';

/** Milliseconds on a clock shared by every process on the machine (so stamps from two processes compare). */
export const now = (): number => performance.timeOrigin + performance.now();

/** A positive whole number from the environment, or `def`; anything else stops the benchmark with the setting's name. */
export function intEnv(name: string, def: number): number {
  const raw = process.env[name];
  if (!raw) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number (got "${raw}")`);
  return n;
}

/** The nearest-rank percentile of values sorted ascending (NaN for none). */
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summary(values: number[]): { p50: number; p99: number; max: number; n: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] ?? NaN, n: s.length };
}
