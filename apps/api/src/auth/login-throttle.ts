import type { DataSource } from 'typeorm';

/** At most `max` counted attempts per key within `windowMs` (a sliding window). */
export interface ThrottleRule {
  key: string;
  max: number;
  windowMs: number;
}

export type ThrottleOutcome = { allowed: true; ticket: ThrottleTicket } | { allowed: false; retryAfterMs: number };

/** The attempts one call counted; a success gives them back with {@link LoginThrottle.forgive}. */
export interface ThrottleTicket {
  ids: string[];
}

/** Login: per account and client address, per client address across accounts, per account across addresses. */
export const LOGIN_RULES = (email: string, ip: string | null): ThrottleRule[] => [
  { key: `login:${email}|${ip ?? '-'}`, max: 10, windowMs: 15 * 60_000 },
  { key: `login-ip:${ip ?? '-'}`, max: 100, windowMs: 15 * 60_000 },
  { key: `login-account:${email}`, max: 50, windowMs: 60 * 60_000 },
];

/** Second factor: a six-digit code must not be guessable by opening challenge after challenge. */
export const TWO_FACTOR_RULES = (userId: string): ThrottleRule[] => [{ key: `2fa:${userId}`, max: 10, windowMs: 15 * 60_000 }];

/**
 * Slows guessing. Every attempt is counted in PostgreSQL *before* the secret is checked, under a
 * transaction-scoped advisory lock per key, so the limit holds exactly across any number of API
 * replicas and concurrent requests: the (max+1)th attempt within the window is refused whichever
 * replica it reaches. A success gives its own attempt back and clears the per-client key (the
 * account owner is not slowed down by their own typos once they get in).
 */
export class LoginThrottle {
  private lastPrune = 0;

  constructor(private readonly ds: DataSource) {}

  /** Count one attempt against every rule, or refuse (counting nothing) when any rule is exhausted. */
  async attempt(rules: ThrottleRule[]): Promise<ThrottleOutcome> {
    await this.pruneNowAndThen();
    const sorted = [...rules].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.ds.transaction(async (m) => {
      let retryAfterMs = 0;
      for (const r of sorted) {
        await m.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 14))', [r.key]);
        const [row]: { n: number; wait_ms: number | null }[] = await m.query(
          `SELECT count(*)::int AS n,
                  (EXTRACT(EPOCH FROM (min(at) + make_interval(secs => $2::double precision / 1000) - clock_timestamp())) * 1000)::float8 AS wait_ms
             FROM (SELECT at FROM auth_throttle WHERE key = $1 AND at > clock_timestamp() - make_interval(secs => $2::double precision / 1000)
                    ORDER BY at DESC LIMIT $3) recent`,
          [r.key, r.windowMs, r.max],
        );
        if (row && row.n >= r.max) retryAfterMs = Math.max(retryAfterMs, Math.ceil(row.wait_ms ?? r.windowMs), 1);
      }
      if (retryAfterMs > 0) return { allowed: false as const, retryAfterMs };
      const ids: string[] = [];
      for (const r of sorted) {
        const [row]: { id: string }[] = await m.query('INSERT INTO auth_throttle (key) VALUES ($1) RETURNING id', [r.key]);
        ids.push(row!.id);
      }
      return { allowed: true as const, ticket: { ids } };
    });
  }

  /** The attempt succeeded: take back what it counted and forget earlier failures of `clearKeys`. */
  async forgive(ticket: ThrottleTicket, clearKeys: string[] = []): Promise<void> {
    await this.ds.query('DELETE FROM auth_throttle WHERE id = ANY($1::bigint[]) OR key = ANY($2::varchar[])', [ticket.ids, clearKeys]);
  }

  private async pruneNowAndThen(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    await this.ds.query(`DELETE FROM auth_throttle WHERE at < clock_timestamp() - interval '1 day'`).catch(() => undefined);
  }
}

export function minutes(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}
