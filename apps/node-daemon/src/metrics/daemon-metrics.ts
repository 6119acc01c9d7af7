import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HypervisorPort } from '../hypervisor/port.js';

/** Seconds: a libvirt call is sub-millisecond on the test driver, seconds for a snapshot of a running guest. */
const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const COMMAND_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * One daemon's Prometheus metrics (docs/metrics.md). Its own registry (a test or bench-fleet runs many daemons in
 * one process). Labels are the hypervisor port's method names, command ops, outcomes and domain states: bounded,
 * never a server id.
 */
export class DaemonMetrics {
  readonly registry = new Registry();

  readonly libvirtCall = new Histogram({
    name: 'oblako_daemon_libvirt_call_duration_seconds',
    help: 'Hypervisor calls (the port: the libvirt binding, and virsh where the binding has no call) by call and outcome',
    labelNames: ['call', 'outcome'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });

  readonly commandDuration = new Histogram({
    name: 'oblako_daemon_command_duration_seconds',
    help: 'Commands this node ran, by op and outcome: from the command received to its result ready',
    labelNames: ['op', 'outcome'] as const,
    buckets: COMMAND_BUCKETS,
    registers: [this.registry],
  });

  readonly heartbeats = new Counter({
    name: 'oblako_daemon_heartbeats_total',
    help: 'Heartbeats this daemon published',
    registers: [this.registry],
  });

  readonly lastHeartbeat = new Gauge({
    name: 'oblako_daemon_last_heartbeat_timestamp_seconds',
    help: 'Unix time of the last heartbeat this daemon published',
    registers: [this.registry],
  });

  readonly domains = new Gauge({
    name: 'oblako_daemon_domains',
    help: 'Oblako domains on this node by state, as of the last heartbeat',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly usageSamples = new Counter({
    name: 'oblako_daemon_usage_samples_published_total',
    help: 'Usage samples published to the API (a batch buffered while NATS was down counts when it is finally published)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'oblako_daemon_' });
  }

  setDomains(states: readonly string[]): void {
    this.domains.reset();
    const counts = new Map<string, number>();
    for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
    for (const [state, n] of counts) this.domains.set({ state }, n);
  }
}

const UNTIMED = new Set(['uri', 'describe', 'connect', 'close']);

/** The hypervisor port with every call timed into `oblako_daemon_libvirt_call_duration_seconds{call}`. */
export function timedHypervisor(hv: HypervisorPort, metrics: DaemonMetrics): HypervisorPort {
  return new Proxy(hv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const fn = (v as (...a: unknown[]) => unknown).bind(target);
      if (typeof prop !== 'string' || UNTIMED.has(prop)) return fn;
      return async (...args: unknown[]) => {
        const end = metrics.libvirtCall.startTimer({ call: prop });
        try {
          const out = await fn(...args);
          end({ outcome: 'ok' });
          return out;
        } catch (err) {
          end({ outcome: 'error' });
          throw err;
        }
      };
    },
  });
}

/** Where the daemon serves /metrics: `host:port`, parsed from METRICS_LISTEN. */
export interface MetricsListen { host: string; port: number }

/** The plain HTTP listener for /metrics (no auth: it binds 127.0.0.1 by default; see docs/metrics.md). */
export class MetricsServer {
  private server: Server | null = null;
  url = '';

  constructor(private readonly metrics: DaemonMetrics, private readonly listen: MetricsListen) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      this.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType, 'cache-control': 'no-store' }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listen.port, this.listen.host, () => resolve());
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    this.url = `http://${this.listen.host.includes(':') ? `[${this.listen.host}]` : this.listen.host}:${port}/metrics`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
