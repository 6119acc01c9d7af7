import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FleetError } from '../fleet/fleet.errors.js';
import { ServerError } from '../servers/servers.errors.js';

export const USAGE_RANGES = ['1h', '24h', '7d', '30d'] as const;
export type UsageRange = (typeof USAGE_RANGES)[number];

/** Which rows each range is drawn from: raw samples (about 60 points), 5-minute (288), hourly (168 / 720). */
const SOURCE: Record<UsageRange, { interval: string; level: 'raw' | '5m' | '1h' }> = {
  '1h': { interval: '1 hour', level: 'raw' },
  '24h': { interval: '24 hours', level: '5m' },
  '7d': { interval: '7 days', level: '1h' },
  '30d': { interval: '30 days', level: '1h' },
};

export interface UsagePoint {
  /** End of the point's interval (ISO 8601). */
  t: string;
  /** Seconds of samples behind the point. */
  seconds: number;
  /** CPU used, in percent of the server's vCPUs (of one core per server on the node graph). */
  cpuPercent: number;
  netInBps: number;
  netOutBps: number;
  diskReadBps: number;
  diskWriteBps: number;
  diskReadIops: number;
  diskWriteIops: number;
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
  from: string;
  to: string;
  points: UsagePoint[];
  totals: UsageTotals;
}

interface Row {
  t: Date;
  seconds: number;
  bucket_seconds: number;
  cpu_ns: string;
  disk_read_bytes: string;
  disk_write_bytes: string;
  disk_read_ops: string;
  disk_write_ops: string;
  net_in_bytes: string;
  net_out_bytes: string;
  memory_bytes: string | null;
  servers: number;
}

export function rowsSql(level: 'raw' | '5m' | '1h', where: string): string {
  const counters = `sum(cpu_ns)::text AS cpu_ns, sum(disk_read_bytes)::text AS disk_read_bytes, sum(disk_write_bytes)::text AS disk_write_bytes,
    sum(disk_read_ops)::text AS disk_read_ops, sum(disk_write_ops)::text AS disk_write_ops, sum(net_in_bytes)::text AS net_in_bytes,
    sum(net_out_bytes)::text AS net_out_bytes, count(DISTINCT server_id)::int AS servers`;
  if (level === 'raw') {
    return `SELECT date_bin('1 minute', to_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') + interval '1 minute' AS t, 60 AS bucket_seconds,
                   sum(extract(epoch FROM to_at - from_at))::float8 AS seconds, ${counters}, max(memory_bytes)::text AS memory_bytes
              FROM usage_samples WHERE ${where} AND to_at > now() - $2::interval GROUP BY 1 ORDER BY 1`;
  }
  const len = level === '5m' ? 300 : 3600;
  return `SELECT bucket + interval '${len} seconds' AS t, ${len} AS bucket_seconds, sum(seconds)::float8 AS seconds, ${counters},
                 max(memory_bytes_max)::text AS memory_bytes
            FROM usage_rollups WHERE ${where} AND level = '${level}' AND bucket > now() - $2::interval GROUP BY 1 ORDER BY 1`;
}

/** Graph series of one server (the customer's) or one node (staff). */
@Injectable()
export class UsageService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async ofServer(tenantId: string | null, serverId: string, range: UsageRange): Promise<UsageSeries> {
    const [server] = (await this.ds.query(`SELECT vcpus FROM servers WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)`, [serverId, tenantId])) as { vcpus: number }[];
    if (!server) throw new ServerError('server_not_found', 'No server with that id in this team.');
    const { interval, level } = SOURCE[range];
    const rows = (await this.ds.query(rowsSql(level, 'server_id = $1'), [serverId, interval])) as Row[];
    return this.series(range, interval, rows, server.vcpus, false);
  }

  async ofNode(nodeId: string, range: UsageRange): Promise<UsageSeries> {
    const [node] = (await this.ds.query(`SELECT id FROM nodes WHERE id = $1`, [nodeId])) as { id: string }[];
    if (!node) throw new FleetError('node_not_found', `No node with id ${nodeId}.`);
    const { interval, level } = SOURCE[range];
    const rows = (await this.ds.query(rowsSql(level, 'node_id = $1'), [nodeId, interval])) as Row[];
    return this.series(range, interval, rows, 1, true);
  }

  private series(range: UsageRange, interval: string, rows: Row[], vcpus: number, node: boolean): UsageSeries {
    const totals: UsageTotals = { netInBytes: 0, netOutBytes: 0, diskReadBytes: 0, diskWriteBytes: 0, cpuSeconds: 0 };
    const points = rows.map((r): UsagePoint => {
      const n = (v: string) => Number(v);
      totals.netInBytes += n(r.net_in_bytes);
      totals.netOutBytes += n(r.net_out_bytes);
      totals.diskReadBytes += n(r.disk_read_bytes);
      totals.diskWriteBytes += n(r.disk_write_bytes);
      totals.cpuSeconds += n(r.cpu_ns) / 1e9;
      // a server's rates are over the time its samples cover; a node's are sums over the bucket's length
      const secs = node ? Number(r.bucket_seconds) : Math.max(r.seconds, 1);
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        t: r.t.toISOString(),
        seconds: round(r.seconds),
        cpuPercent: round((n(r.cpu_ns) / (secs * 1e9 * vcpus)) * 100),
        netInBps: round((n(r.net_in_bytes) * 8) / secs),
        netOutBps: round((n(r.net_out_bytes) * 8) / secs),
        diskReadBps: round(n(r.disk_read_bytes) / secs),
        diskWriteBps: round(n(r.disk_write_bytes) / secs),
        diskReadIops: round(n(r.disk_read_ops) / secs),
        diskWriteIops: round(n(r.disk_write_ops) / secs),
        memoryBytes: r.memory_bytes === null ? null : n(r.memory_bytes),
        ...(node ? { servers: r.servers } : {}),
      };
    });
    const to = new Date();
    const from = new Date(to.getTime() - { '1 hour': 3600e3, '24 hours': 86400e3, '7 days': 7 * 86400e3, '30 days': 30 * 86400e3 }[interval]!);
    return { range, from: from.toISOString(), to: to.toISOString(), points, totals };
  }
}
