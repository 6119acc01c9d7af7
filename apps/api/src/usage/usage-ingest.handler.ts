import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { EventKind, UsageEventSchema, type UsageEvent } from '@oblako/contracts';
import { DataSource } from 'typeorm';
import { ApiMetrics } from '../metrics/api-metrics.js';
import { NodeEventHandlers, type NodeEventHandler } from '../node-events/event-handlers.js';
import { TrafficQuotaService } from './traffic-quota.service.js';

const COUNTERS = ['cpu_ns', 'disk_read_bytes', 'disk_write_bytes', 'disk_read_ops', 'disk_write_ops', 'net_in_bytes', 'net_out_bytes'] as const;

/**
 * One statement per usage event (a node's whole round, up to 500 samples): the samples of servers that
 * live on the sending node are inserted once by id (`ON CONFLICT DO NOTHING`: a repeat counts nothing),
 * and only the rows that were new are added to the 5-minute, hourly and daily rollups and to the server's
 * traffic of its quota period (then the quota looks at those servers).
 */
export const INGEST_SQL = `
WITH s AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, "serverId" uuid, "from" bigint, "to" bigint, "cpuNs" bigint,
    "diskReadBytes" bigint, "diskWriteBytes" bigint, "diskReadOps" bigint, "diskWriteOps" bigint, "netInBytes" bigint,
    "netOutBytes" bigint, "memoryBytes" bigint)
), ok AS (
  SELECT s.* FROM s JOIN servers sv ON sv.id = s."serverId" AND sv.node_id = $1
), ins AS (
  INSERT INTO usage_samples (id, server_id, node_id, from_at, to_at, ${COUNTERS.join(', ')}, memory_bytes)
  SELECT id, "serverId", $1, to_timestamp("from" / 1000.0), to_timestamp("to" / 1000.0), "cpuNs", "diskReadBytes", "diskWriteBytes",
         "diskReadOps", "diskWriteOps", "netInBytes", "netOutBytes", "memoryBytes"
    FROM ok
  ON CONFLICT (id) DO NOTHING
  RETURNING *
), roll AS (
  INSERT INTO usage_rollups (server_id, level, bucket, node_id, seconds, samples, ${COUNTERS.join(', ')}, memory_bytes_max)
  SELECT i.server_id, l.level,
         CASE l.level WHEN '5m' THEN date_bin('5 minutes', i.to_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                      WHEN '1h' THEN date_trunc('hour', i.to_at, 'UTC') ELSE date_trunc('day', i.to_at, 'UTC') END,
         $1, sum(extract(epoch FROM i.to_at - i.from_at)), count(*), ${COUNTERS.map((c) => `sum(i.${c})`).join(', ')}, max(i.memory_bytes)
    FROM ins i CROSS JOIN (VALUES ('5m'), ('1h'), ('1d')) AS l(level)
   GROUP BY 1, 2, 3
  ON CONFLICT (server_id, level, bucket) DO UPDATE SET
    node_id = EXCLUDED.node_id, seconds = usage_rollups.seconds + EXCLUDED.seconds, samples = usage_rollups.samples + EXCLUDED.samples,
    ${COUNTERS.map((c) => `${c} = usage_rollups.${c} + EXCLUDED.${c}`).join(', ')},
    memory_bytes_max = GREATEST(usage_rollups.memory_bytes_max, EXCLUDED.memory_bytes_max)
  RETURNING 1
), traf AS (
  INSERT INTO server_traffic (server_id, period_start, in_bytes, out_bytes)
  SELECT i.server_id, oblako_traffic_period_start(sv.created_at, p.traffic_period, i.to_at), sum(i.net_in_bytes), sum(i.net_out_bytes)
    FROM ins i JOIN servers sv ON sv.id = i.server_id JOIN plans p ON p.id = sv.plan_id
   GROUP BY 1, 2
  ON CONFLICT (server_id, period_start) DO UPDATE SET
    in_bytes = server_traffic.in_bytes + EXCLUDED.in_bytes, out_bytes = server_traffic.out_bytes + EXCLUDED.out_bytes
  RETURNING server_id
)
SELECT (SELECT coalesce(array_agg(DISTINCT server_id), '{}') FROM traf)::text[] AS servers, (SELECT count(*) FROM s)::int AS received, (SELECT count(*) FROM ok)::int AS accepted, (SELECT count(*) FROM ins)::int AS inserted,
       (SELECT count(*) FROM roll)::int AS rolled`;

/** Samples the ingest took since start: counted for /metrics and the benchmark. */
export interface UsageIngestCounts {
  events: number;
  received: number;
  inserted: number;
  duplicates: number;
  refused: number;
}

/** `usage` events: the node's samples, stored once each and rolled up (see INGEST_SQL). */
@Injectable()
export class UsageIngestHandler implements NodeEventHandler<UsageEvent>, OnModuleInit {
  private readonly logger = new Logger('UsageIngest');
  readonly kind = EventKind.Usage;
  readonly schema = UsageEventSchema;
  readonly counts: UsageIngestCounts = { events: 0, received: 0, inserted: 0, duplicates: 0, refused: 0 };

  constructor(
    @Inject(NodeEventHandlers) private readonly registry: NodeEventHandlers,
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(TrafficQuotaService) private readonly quota: TrafficQuotaService,
    @Inject(ApiMetrics) private readonly metrics: ApiMetrics,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async handle(nodeId: string, e: UsageEvent): Promise<void> {
    const [r] = (await this.ds.query(INGEST_SQL, [nodeId, JSON.stringify(e.samples)])) as { received: number; accepted: number; inserted: number; servers: string[] }[];
    this.counts.events++;
    this.counts.received += r.received;
    this.counts.inserted += r.inserted;
    this.counts.duplicates += r.accepted - r.inserted;
    this.metrics.usageEvents.inc();
    this.metrics.usageSamples.inc({ result: 'inserted' }, r.inserted);
    this.metrics.usageSamples.inc({ result: 'duplicate' }, r.accepted - r.inserted);
    this.metrics.usageSamples.inc({ result: 'refused' }, r.received - r.accepted);
    if (r.accepted < r.received) {
      this.counts.refused += r.received - r.accepted;
      this.logger.warn(`node ${nodeId} sent ${r.received - r.accepted} usage sample(s) of servers that are not on it; not counted`);
    }
    if (r.servers.length) await this.quota.evaluate(r.servers);
  }
}
