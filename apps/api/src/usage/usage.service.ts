import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FleetError } from '../fleet/fleet.errors.js';
import { ServerError } from '../servers/servers.errors.js';

export const USAGE_RANGES = ['1h', '24h', '7d', '30d'] as const;
export type UsageRange = (typeof USAGE_RANGES)[number];

/**
 * Which rows each range is drawn from and the step of its points: raw samples per minute (60 points),
 * 5-minute rollups (288), hourly rollups (168 / 720).
 */
const SOURCE: Record<UsageRange, { seconds: number; step: number; level: 'raw' | '5m' | '1h' }> = {
  '1h': { seconds: 3600, step: 60, level: 'raw' },
  '24h': { seconds: 86_400, step: 300, level: '5m' },
  '7d': { seconds: 7 * 86_400, step: 3600, level: '1h' },
  '30d': { seconds: 30 * 86_400, step: 3600, level: '1h' },
};

/** The points of a range (see usageGrid); shared by every request in the same step, so never changed. */
export interface UsageGrid {
  step: number;
  from: Date;
  /** End of each point's step, epoch milliseconds, oldest first. */
  ends: readonly number[];
  /** The same ends as ISO 8601 (the points' `t`). */
  iso: readonly string[];
}

const grids = new Map<UsageRange, UsageGrid>();

/**
 * The points of a range: every step from the first whole step after `now - range` to the step that holds
 * `now`, so a graph has the same number of points whatever was metered (60, 288, 168, 720). A range's grid
 * changes once a step (an hour for 30 days), so the last one is kept and handed to every request in that step.
 */
export function usageGrid(range: UsageRange, nowMs: number): UsageGrid {
  const { seconds, step } = SOURCE[range];
  const lastEnd = (Math.floor(nowMs / 1000 / step) + 1) * step;
  const kept = grids.get(range);
  if (kept && kept.ends[kept.ends.length - 1] === lastEnd * 1000) return kept;
  const n = seconds / step;
  const ends = Array.from({ length: n }, (_, i) => (lastEnd - (n - 1 - i) * step) * 1000);
  const grid: UsageGrid = { step, from: new Date(lastEnd * 1000 - seconds * 1000), ends, iso: ends.map((e) => new Date(e).toISOString()) };
  grids.set(range, grid);
  return grid;
}

export interface UsagePoint {
  /** End of the point's interval (ISO 8601). */
  t: string;
  /** Seconds of samples behind the point; 0 = a gap (the server was off or not metered): every rate is null. */
  seconds: number;
  /** CPU used, in percent of the server's vCPUs (of one core per server on the node graph). */
  cpuPercent: number | null;
  netInBps: number | null;
  netOutBps: number | null;
  diskReadBps: number | null;
  diskWriteBps: number | null;
  diskReadIops: number | null;
  diskWriteIops: number | null;
  memoryBytes: number | null;
  /** Node graphs: servers with samples in the point. */
  servers?: number;
}

export interface UsageTotals {
  netInBytes: number;
  netOutBytes: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  cpuSeconds: number;
}

export interface UsageSeries {
  range: UsageRange;
  /** Seconds between points (each point covers the step that ends at its `t`). */
  stepSeconds: number;
  from: string;
  to: string;
  /** One point per step from `from` to `to`, oldest first; a gap is a point with `seconds: 0` and null rates. */
  points: UsagePoint[];
  totals: UsageTotals;
}

/**
 * One step's row as the SQL below answers it: every value a float8 (counters are whole numbers far below 2^53, so
 * exact), the step's end as epoch seconds. Numbers, not text and timestamptz: pg turns 720 rows of text and
 * timestamps into strings and Dates at 4.5 ms of CPU against 2.6 ms for float8 (bench:graph, same machine).
 */
interface Row {
  t: number;
  seconds: number;
  cpu_ns: number;
  disk_read_bytes: number;
  disk_write_bytes: number;
  disk_read_ops: number;
  disk_write_ops: number;
  net_in_bytes: number;
  net_out_bytes: number;
  memory_bytes: number | null;
  servers: number;
}

/**
 * The SQL of a graph ($1 the server or node, $2 the first bucket's start). One server's rollups are one row
 * per bucket: read straight off the primary key, which INCLUDEs the counters (an index-only scan in bucket
 * order, no heap pages, no sort; migration UsageGraphIndex). Raw samples and a node's servers are summed.
 */
export function rowsSql(level: 'raw' | '5m' | '1h', scope: 'server' | 'node'): string {
  const counters = `sum(cpu_ns)::float8 AS cpu_ns, sum(disk_read_bytes)::float8 AS disk_read_bytes, sum(disk_write_bytes)::float8 AS disk_write_bytes,
    sum(disk_read_ops)::float8 AS disk_read_ops, sum(disk_write_ops)::float8 AS disk_write_ops, sum(net_in_bytes)::float8 AS net_in_bytes,
    sum(net_out_bytes)::float8 AS net_out_bytes, count(DISTINCT server_id)::int AS servers`;
  const where = scope === 'server' ? 'server_id = $1' : 'node_id = $1';
  if (level === 'raw') {
    return `SELECT date_part('epoch', date_bin('1 minute', to_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')) + 60 AS t,
                   sum(extract(epoch FROM to_at - from_at))::float8 AS seconds, ${counters}, max(memory_bytes)::float8 AS memory_bytes
              FROM usage_samples WHERE ${where} AND to_at > $2::timestamptz GROUP BY 1 ORDER BY 1`;
  }
  const len = level === '5m' ? 300 : 3600;
  if (scope === 'server') {
    return `SELECT date_part('epoch', bucket) + ${len} AS t, seconds::float8 AS seconds, cpu_ns::float8 AS cpu_ns, disk_read_bytes::float8 AS disk_read_bytes,
                   disk_write_bytes::float8 AS disk_write_bytes, disk_read_ops::float8 AS disk_read_ops, disk_write_ops::float8 AS disk_write_ops,
                   net_in_bytes::float8 AS net_in_bytes, net_out_bytes::float8 AS net_out_bytes, 1 AS servers, memory_bytes_max::float8 AS memory_bytes
              FROM usage_rollups WHERE server_id = $1 AND level = '${level}' AND bucket >= $2::timestamptz ORDER BY bucket`;
  }
  return `SELECT date_part('epoch', bucket) + ${len} AS t, sum(seconds)::float8 AS seconds, ${counters}, max(memory_bytes_max)::float8 AS memory_bytes
            FROM usage_rollups WHERE node_id = $1 AND level = '${level}' AND bucket >= $2::timestamptz GROUP BY bucket ORDER BY bucket`;
}

/**
 * A server's graph in one round trip ($1 the server, $2 the first bucket's start, $3 the tenant, null = staff): no
 * row when the server is not the tenant's; otherwise its rows, each with the server's vCPUs, or one row with a null
 * `t` when it has none in the range. (json_agg would also be one round trip, but costs PostgreSQL more CPU than
 * the rows themselves on a loaded machine: measured with bench:usage.)
 */
export function serverGraphSql(level: 'raw' | '5m' | '1h'): string {
  return `SELECT sv.vcpus, r.* FROM servers sv LEFT JOIN LATERAL (${rowsSql(level, 'server')}) r ON true
           WHERE sv.id = $1 AND ($3::uuid IS NULL OR sv.tenant_id = $3) ORDER BY r.t`;
}

/** Graph series of one server (the customer's) or one node (staff). */
@Injectable()
export class UsageService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async ofServer(tenantId: string | null, serverId: string, range: UsageRange): Promise<UsageSeries> {
    const grid = usageGrid(range, Date.now());
    const rows = (await this.ds.query(serverGraphSql(SOURCE[range].level), [serverId, grid.from, tenantId])) as (Omit<Row, 't'> & { t: number | null; vcpus: number })[];
    if (!rows.length) throw new ServerError('server_not_found', 'No server with that id in this team.');
    return this.series(range, grid, rows.filter((r): r is Row & { vcpus: number } => r.t !== null), rows[0]!.vcpus, false);
  }

  async ofNode(nodeId: string, range: UsageRange): Promise<UsageSeries> {
    const [node] = (await this.ds.query(`SELECT id FROM nodes WHERE id = $1`, [nodeId])) as { id: string }[];
    if (!node) throw new FleetError('node_not_found', `No node with id ${nodeId}.`);
    const grid = usageGrid(range, Date.now());
    const rows = (await this.ds.query(rowsSql(SOURCE[range].level, 'node'), [nodeId, grid.from])) as Row[];
    return this.series(range, grid, rows, 1, true);
  }

  private series(range: UsageRange, grid: UsageGrid, rows: Row[], vcpus: number, node: boolean): UsageSeries {
    const totals: UsageTotals = { netInBytes: 0, netOutBytes: 0, diskReadBytes: 0, diskWriteBytes: 0, cpuSeconds: 0 };
    const n = grid.ends.length;
    // each row's place in the grid, by arithmetic on its step's end (rows outside the grid are left out)
    const byIndex: (Row | undefined)[] = new Array<Row | undefined>(n);
    const firstEnd = grid.ends[0]! / 1000;
    for (const r of rows) {
      totals.netInBytes += r.net_in_bytes;
      totals.netOutBytes += r.net_out_bytes;
      totals.diskReadBytes += r.disk_read_bytes;
      totals.diskWriteBytes += r.disk_write_bytes;
      totals.cpuSeconds += r.cpu_ns / 1e9;
      const i = (r.t - firstEnd) / grid.step;
      if (Number.isInteger(i) && i >= 0 && i < n) byIndex[i] = r;
    }
    const points: UsagePoint[] = new Array<UsagePoint>(n);
    for (let i = 0; i < n; i++) {
      const r = byIndex[i];
      const t = grid.iso[i]!;
      if (!r || r.seconds <= 0) {
        points[i] = node
          ? { t, seconds: 0, cpuPercent: null, netInBps: null, netOutBps: null, diskReadBps: null, diskWriteBps: null, diskReadIops: null, diskWriteIops: null, memoryBytes: null, servers: 0 }
          : { t, seconds: 0, cpuPercent: null, netInBps: null, netOutBps: null, diskReadBps: null, diskWriteBps: null, diskReadIops: null, diskWriteIops: null, memoryBytes: null };
        continue;
      }
      // a server's rates are over the time its samples cover; a node's are sums over the step's length
      const secs = node ? grid.step : Math.max(r.seconds, 1);
      const point: UsagePoint = {
        t,
        seconds: round2(r.seconds),
        cpuPercent: round2((r.cpu_ns / (secs * 1e9 * vcpus)) * 100),
        netInBps: round2((r.net_in_bytes * 8) / secs),
        netOutBps: round2((r.net_out_bytes * 8) / secs),
        diskReadBps: round2(r.disk_read_bytes / secs),
        diskWriteBps: round2(r.disk_write_bytes / secs),
        diskReadIops: round2(r.disk_read_ops / secs),
        diskWriteIops: round2(r.disk_write_ops / secs),
        memoryBytes: r.memory_bytes,
      };
      if (node) point.servers = r.servers;
      points[i] = point;
    }
    return { range, stepSeconds: grid.step, from: grid.from.toISOString(), to: grid.iso[n - 1]!, points, totals };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
