/** What the benchmarks share: a wall clock, their settings from the environment, percentiles, a process's CPU, a simulated fleet. */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { ApiClient } from './http.js';

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

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Register `count` simulated nodes through the API (20 at a time); returns their ids. */
export async function registerNodes(admin: ApiClient, locationId: string, count: number, prefix = 'sim'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, (_, j) =>
        admin.ok<{ node: { id: string } }>('POST', '/api/v1/admin/nodes', { name: `${prefix}-${i + j}`, locationId, vcpus: 64, memoryMiB: 262_144, diskGiB: 4000 }),
      ),
    );
    ids.push(...batch.map((b) => b.node.id));
  }
  return ids;
}

/**
 * Write `count` running servers straight into the database, as if ordered long ago (one a second, the newest now),
 * spread round-robin over `nodeIds`: the first `firstCount` belong to `tenants[0]`, the rest to `tenants[1]`. The
 * nodes' used capacity follows. Returns the server ids by node.
 */
export async function writeServers(
  pool: pg.Pool,
  o: { count: number; nodeIds: string[]; tenants: [string, string]; firstCount: number; locationId: string },
): Promise<Map<string, string[]>> {
  const plan = (await pool.query<{ id: string; vcpus: number; memory_mib: number; disk_gib: number }>(`SELECT id, vcpus, memory_mib, disk_gib FROM plans ORDER BY vcpus, memory_mib LIMIT 1`)).rows[0]!;
  const image = (await pool.query<{ id: string }>(`SELECT id FROM images LIMIT 1`)).rows[0]!;
  await pool.query(
    `INSERT INTO servers (tenant_id, plan_id, image_id, location_id, node_id, hostname, state, vcpus, memory_mib, disk_gib, created_at)
     SELECT CASE WHEN g <= $1 THEN $2::uuid ELSE $3::uuid END, $4, $5, $6, ($7::uuid[])[1 + (g % $8)], 'fleet-' || g, 'running', $9, $10, $11,
            now() - make_interval(secs => $12 - g)
       FROM generate_series(1, $12) g`,
    [o.firstCount, o.tenants[0], o.tenants[1], plan.id, image.id, o.locationId, o.nodeIds, o.nodeIds.length, plan.vcpus, plan.memory_mib, plan.disk_gib, o.count],
  );
  await pool.query(
    `UPDATE nodes n SET used_vcpus = s.v, used_memory_mib = s.m, used_disk_gib = s.d
       FROM (SELECT node_id, sum(vcpus)::int v, sum(memory_mib)::int m, sum(disk_gib)::int d FROM servers WHERE state = 'running' GROUP BY node_id) s
      WHERE n.id = s.node_id`,
  );
  const placed = await pool.query<{ node_id: string; id: string }>(`SELECT node_id, id FROM servers WHERE node_id = ANY($1::uuid[])`, [o.nodeIds]);
  const byNode = new Map<string, string[]>();
  for (const r of placed.rows) byNode.set(r.node_id, [...(byNode.get(r.node_id) ?? []), r.id]);
  return byNode;
}

/**
 * `hours` hourly usage rollups (random counters, a whole hour of samples each) for every server in `serverIds`, the
 * newest ending at the current hour's start, written an hour at a time for all servers: the order the ingest writes
 * them in, so one server's rows are spread over many heap pages as in production.
 */
export async function writeHourlyRollups(pool: pg.Pool, serverIds: string[], hours: number): Promise<void> {
  await pool.query(
    `INSERT INTO usage_rollups (server_id, level, bucket, node_id, seconds, samples, cpu_ns, disk_read_bytes, disk_write_bytes, disk_read_ops, disk_write_ops, net_in_bytes, net_out_bytes, memory_bytes_max)
     SELECT sv.id, '1h', date_trunc('hour', now()) - make_interval(hours => h), sv.node_id, 3600, 60, (random() * 3.6e12)::bigint, (random() * 3e9)::bigint,
            (random() * 1e9)::bigint, (random() * 3e5)::bigint, (random() * 1e5)::bigint, (random() * 6e9)::bigint, (random() * 2e10)::bigint, 300000000
       FROM generate_series(1, $2::int) h CROSS JOIN servers sv
      WHERE sv.id = ANY($1::uuid[])
      ORDER BY h DESC, sv.id
     ON CONFLICT DO NOTHING`,
    [serverIds, hours],
  );
}
