import { Inject, Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { NatsService } from '../messaging/nats.service.js';

/**
 * Seconds: a request, a task (a create on a loaded node takes seconds; a migration minutes). HTTP from 1 ms to 10 s,
 * with 20 ms a bound because it is a target (issue 11: the 30-day graph's p99).
 */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TASK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** JetStream consumer info is one request per consumer: asked at most this often, whatever the scrape rate. */
const CONSUMER_INFO_TTL_MS = 15_000;

interface ConsumerPending { stream: string; consumer: string; pending: number; ackPending: number; redelivered: number }

/**
 * The API replica's Prometheus metrics (docs/metrics.md lists each with its labels and alert rules). One registry
 * per app instance, not prom-client's global one: tests and the demo run several APIs in one process.
 * Labels are bounded: route templates (never raw paths), ops, outcomes, node ids (the fleet), never server ids.
 */
@Injectable()
export class ApiMetrics {
  private readonly logger = new Logger('Metrics');
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'oblako_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code: latency from the first byte in to the last byte out',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  readonly taskDuration = new Histogram({
    name: 'oblako_task_duration_seconds',
    help: 'Finished tasks by operation and outcome: from the order accepted to the task ended',
    labelNames: ['op', 'outcome'] as const,
    buckets: TASK_BUCKETS,
    registers: [this.registry],
  });

  readonly usageSamples = new Counter({
    name: 'oblako_usage_samples_total',
    help: 'Usage samples the ingest received, by result: inserted (counted), duplicate (a repeat, counted nothing), refused (a server not on the sending node)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly usageEvents = new Counter({
    name: 'oblako_usage_events_total',
    help: 'Usage events (one per node round, up to 500 samples each) the ingest stored',
    registers: [this.registry],
  });

  private consumerCache: { at: number; rows: ConsumerPending[] } | null = null;
  private consumerRefresh: Promise<ConsumerPending[]> | null = null;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(NatsService) private readonly nats: NatsService,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'oblako_api_' });
    for (const result of ['inserted', 'duplicate', 'refused']) this.usageSamples.inc({ result }, 0);
    const db = this.ds;
    const consumers = () => this.consumers();
    new Gauge({
      name: 'oblako_outbox_oldest_unpublished_seconds',
      help: 'Age of the oldest command in the outbox that is not yet published to JetStream (0 when none waits)',
      registers: [this.registry],
      async collect() {
        const [r]: { age: number | null }[] = await db.query(`SELECT extract(epoch FROM now() - min(created_at))::float8 AS age FROM outbox WHERE published_at IS NULL`);
        this.set(Math.max(0, Number(r?.age ?? 0)));
      },
    });
    new Gauge({
      name: 'oblako_outbox_unpublished',
      help: 'Commands in the outbox not yet published to JetStream',
      registers: [this.registry],
      async collect() {
        const [r]: { n: number }[] = await db.query(`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`);
        this.set(r?.n ?? 0);
      },
    });
    new Gauge({
      name: 'oblako_billing_hours_unreported',
      help: 'Claimed server-hours not yet taken by Stripe (reported as meter events or billed after their subscription ended)',
      registers: [this.registry],
      async collect() {
        const [r]: { n: number }[] = await db.query(`SELECT count(*)::int AS n FROM billing_hours WHERE reported_at IS NULL AND invoice_item_id IS NULL`);
        this.set(r?.n ?? 0);
      },
    });
    new Gauge({
      name: 'oblako_billing_oldest_unreported_hour_seconds',
      help: 'Age of the oldest claimed server-hour Stripe has not taken yet, since it was claimed (0 when none waits); alert well before Stripe\'s 35-day window',
      registers: [this.registry],
      async collect() {
        const [r]: { age: number | null }[] = await db.query(
          `SELECT extract(epoch FROM now() - min(created_at))::float8 AS age FROM billing_hours WHERE reported_at IS NULL AND invoice_item_id IS NULL`,
        );
        this.set(Math.max(0, Number(r?.age ?? 0)));
      },
    });
    new Gauge({
      name: 'oblako_node_heartbeat_age_seconds',
      help: 'Seconds since each node\'s last heartbeat reached the API (NaN: never)',
      labelNames: ['node', 'name', 'state'] as const,
      registers: [this.registry],
      async collect() {
        const rows: { id: string; name: string; state: string; age: number | null }[] = await db.query(
          `SELECT id, name, state, extract(epoch FROM now() - last_heartbeat_at)::float8 AS age FROM nodes ORDER BY name`,
        );
        this.reset();
        for (const r of rows) this.set({ node: r.id, name: r.name, state: r.state }, r.age === null ? Number.NaN : Math.max(0, Number(r.age)));
      },
    });
    const consumerGauge = (name: string, help: string, pick: (c: ConsumerPending) => number) =>
      new Gauge({
        name, help, labelNames: ['stream', 'consumer'] as const, registers: [this.registry],
        async collect() {
          const rows = await consumers();
          this.reset();
          for (const c of rows) this.set({ stream: c.stream, consumer: c.consumer }, pick(c));
        },
      });
    consumerGauge('oblako_nats_consumer_pending_messages', 'Messages in the stream this durable consumer has not been delivered yet (JetStream num_pending; cached 15 s)', (c) => c.pending);
    consumerGauge('oblako_nats_consumer_ack_pending_messages', 'Messages delivered to this consumer and not acknowledged yet (JetStream num_ack_pending; cached 15 s)', (c) => c.ackPending);
    consumerGauge('oblako_nats_consumer_redelivered_messages', 'Messages delivered more than once and still unacknowledged (JetStream num_redelivered; cached 15 s)', (c) => c.redelivered);
  }

  /** A finished task (called by the runner when it writes the end of a task). */
  taskFinished(op: string, ok: boolean, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.taskDuration.observe({ op, outcome: ok ? 'succeeded' : 'failed' }, seconds);
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The API's event consumer and every node's command consumer, from JetStream's consumer info: cached, so a
   * scrape every few seconds costs at most one listing per stream every 15 s. NATS down: the last known values
   * are kept (and the gauges say nothing new), the scrape itself never fails.
   */
  private async consumers(): Promise<ConsumerPending[]> {
    const cached = this.consumerCache;
    if (cached && Date.now() - cached.at < CONSUMER_INFO_TTL_MS) return cached.rows;
    this.consumerRefresh ??= this.readConsumers()
      .then((rows) => {
        this.consumerCache = { at: Date.now(), rows };
        return rows;
      })
      .catch((err: unknown) => {
        this.logger.warn(`JetStream consumer info for /metrics failed: ${(err as Error).message}`);
        if (cached) this.consumerCache = { at: Date.now(), rows: cached.rows };
        return cached?.rows ?? [];
      })
      .finally(() => {
        this.consumerRefresh = null;
      });
    return this.consumerRefresh;
  }

  private async readConsumers(): Promise<ConsumerPending[]> {
    const s = this.nats.subjects;
    const out: ConsumerPending[] = [];
    for (const stream of [s.eventStream, s.commandStream]) {
      const lister = this.nats.jsm.consumers.list(stream);
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout listing consumers')), 3000).unref());
      const infos = await Promise.race([(async () => {
        const all = [];
        for await (const ci of lister) all.push(ci);
        return all;
      })(), timeout]);
      for (const ci of infos) {
        out.push({ stream, consumer: ci.name, pending: ci.num_pending, ackPending: ci.num_ack_pending, redelivered: ci.num_redelivered });
      }
    }
    return out;
  }
}
