import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainState, USAGE_SAMPLES_PER_EVENT, WIRE_VERSION, type UsageSample } from '@oblako/contracts';
import { nowMs } from '../clock.js';
import type { HypervisorPort } from '../hypervisor/port.js';
import { errorMessage, type Logger } from '../log.js';
import type { EventPublisher } from '../nats/bus.js';
import { serverIdOfDomain } from '../naming.js';
import type { DomainCounters, RawCounters, TapCounters, UsageReader } from './counters.js';
import type { DaemonMetrics } from '../metrics/daemon-metrics.js';

/** Samples kept on disk while NATS or the API cannot take them (a week of 60 s samples for ~10 servers... or a day of 70). */
export const MAX_PENDING_SAMPLES = 100_000;
/** A server unseen this long (its domain gone) is forgotten. */
const FORGET_AFTER_MS = 7 * 24 * 3600_000;

interface Last {
  at: number;
  seenAt: number;
  domain?: DomainCounters;
  tap?: TapCounters;
}

interface State {
  v: 1;
  last: Record<string, Last>;
  pending: UsageSample[];
}

const DOMAIN_FIELDS = ['cpuNs', 'diskReadBytes', 'diskWriteBytes', 'diskReadOps', 'diskWriteOps'] as const;

/**
 * What a counter moved since the last reading. Same instance (QEMU pid, tap ifindex) and no counter went
 * down: the difference. A new instance, or a counter that went down (a reset the instance did not show):
 * the counters started again at zero, so the whole new value is new usage. Nothing seen before: all of it.
 */
export function domainDelta(prev: DomainCounters | undefined, cur: DomainCounters): DomainCounters {
  const continued = prev && prev.instance === cur.instance && DOMAIN_FIELDS.every((k) => cur[k] >= prev[k]);
  const out = { ...cur };
  if (continued) for (const k of DOMAIN_FIELDS) out[k] = cur[k] - prev[k];
  return out;
}

export function tapDelta(prev: TapCounters | undefined, cur: TapCounters): { rxBytes: number; txBytes: number } {
  if (prev && prev.instance === cur.instance && cur.rxBytes >= prev.rxBytes && cur.txBytes >= prev.txBytes) {
    return { rxBytes: cur.rxBytes - prev.rxBytes, txBytes: cur.txBytes - prev.txBytes };
  }
  return { rxBytes: cur.rxBytes, txBytes: cur.txBytes };
}

/**
 * The node's usage meter: every `intervalMs` it reads the counters of each running server (readers:
 * tap counters, `virsh domstats`), turns them into deltas against the last reading and sends them as
 * `usage` events, each sample with its own id. The last readings and the samples not yet confirmed by
 * JetStream live in `<dataDir>/usage/state.json` (written before anything is sent), so a daemon restart
 * neither loses nor repeats a delta, and samples taken while NATS is down go out when it is back.
 * `flush(serverId)` reads one server right before its domain is stopped (stop, reboot, rebuild, delete),
 * so the counters that the stop resets are counted up to that moment.
 */
export class UsageSampler {
  private state: State = { v: 1, last: {}, pending: [] };
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private sending: Promise<void> | null = null;
  private sendFailing = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly path: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly d: {
      hv: HypervisorPort; readers: readonly UsageReader[]; events: EventPublisher; nodeId: string; dataDir: string; intervalMs: number; log: Logger;
      metrics?: DaemonMetrics;
    },
  ) {
    this.path = join(d.dataDir, 'usage', 'state.json');
  }

  /** Samples taken and not yet confirmed. */
  get pending(): number {
    return this.state.pending.length;
  }

  async start(): Promise<void> {
    try {
      const loaded = JSON.parse(await readFile(this.path, 'utf8')) as State;
      if (loaded?.v === 1) this.state = { v: 1, last: loaded.last ?? {}, pending: loaded.pending ?? [] };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.d.log.error('usage state unreadable; starting afresh', { path: this.path, error: errorMessage(err) });
    }
    this.timer = setInterval(() => void this.sampleNow().catch(() => undefined), this.d.intervalMs);
    void this.send();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.timer = this.retry = null;
    await this.chain.catch(() => undefined);
    await this.sending;
    await this.writing;
  }

  /** One round now (all running servers, or only `serverId`), then send. */
  sampleNow(serverId?: string): Promise<void> {
    const run = this.chain.then(() => this.round(serverId));
    this.chain = run.catch(() => undefined);
    return run.then(() => void this.send());
  }

  /** Read one server before its domain stops; never fails the caller's command. */
  async flush(serverId: string | null): Promise<void> {
    if (!serverId || !this.timer) return;
    await this.sampleNow(serverId).catch((err: unknown) => this.d.log.warn('usage sample before a stop failed', { serverId, error: errorMessage(err) }));
  }

  private async round(only?: string): Promise<void> {
    const { hv, readers, log } = this.d;
    const at = Math.round(nowMs());
    const domains = await hv.list();
    const present = new Set<string>();
    const running: string[] = [];
    for (const dom of domains) {
      const id = serverIdOfDomain(dom.name);
      if (!id) continue;
      present.add(id);
      if ((dom.state === DomainState.Running || dom.state === DomainState.Paused) && (!only || only === id)) running.push(id);
    }
    const raw = new Map<string, RawCounters>();
    for (const r of readers) {
      await r.read(running, raw).catch((err: unknown) => log.warn(`usage reader ${r.name} failed`, { error: errorMessage(err) }));
    }
    const samples: UsageSample[] = [];
    for (const id of running) {
      const cur = raw.get(id);
      if (!cur || (!cur.domain && !cur.tap)) continue;
      const prev = this.state.last[id];
      const dom = cur.domain ? domainDelta(prev?.domain, cur.domain) : undefined;
      const net = cur.tap ? tapDelta(prev?.tap, cur.tap) : undefined;
      samples.push({
        id: randomUUID(),
        serverId: id,
        from: Math.min(prev?.at ?? at - this.d.intervalMs, at),
        to: at,
        cpuNs: dom?.cpuNs ?? 0,
        diskReadBytes: dom?.diskReadBytes ?? 0,
        diskWriteBytes: dom?.diskWriteBytes ?? 0,
        diskReadOps: dom?.diskReadOps ?? 0,
        diskWriteOps: dom?.diskWriteOps ?? 0,
        netInBytes: net?.txBytes ?? 0,
        netOutBytes: net?.rxBytes ?? 0,
        ...(dom?.memoryBytes !== undefined ? { memoryBytes: dom.memoryBytes } : {}),
      });
      // a reader that failed this round keeps its last reading: the next one counts from there
      this.state.last[id] = { at, seenAt: at, domain: cur.domain ?? prev?.domain, tap: cur.tap ?? prev?.tap };
    }
    if (!only) {
      for (const [id, l] of Object.entries(this.state.last)) {
        if (present.has(id)) l.seenAt = at;
        else if (at - l.seenAt > FORGET_AFTER_MS) delete this.state.last[id];
      }
    }
    this.state.pending.push(...samples);
    const over = this.state.pending.length - MAX_PENDING_SAMPLES;
    if (over > 0) {
      this.state.pending.splice(0, over);
      log.error('usage buffer full: the oldest samples were dropped', { dropped: over, kept: MAX_PENDING_SAMPLES });
    }
    await this.persist();
    log.debug('usage round', { servers: running.length, samples: samples.length, pending: this.state.pending.length });
  }

  /** Write the state file (one write at a time; the temporary file is renamed over the old one). */
  private persist(): Promise<void> {
    const write = this.writing.then(async () => {
      await mkdir(join(this.d.dataDir, 'usage'), { recursive: true });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify(this.state));
      await rename(tmp, this.path);
    });
    this.writing = write.catch(() => undefined);
    return write;
  }

  /** Send what is pending, a batch at a time, until done or NATS refuses (then try again in a few seconds). */
  private send(): Promise<void> {
    if (this.sending) return this.sending;
    let run: Promise<void> | null = null;
    run = (async () => {
      await Promise.resolve(); // start after `sending` is set
      try {
        while (this.state.pending.length) {
          const batch = this.state.pending.slice(0, USAGE_SAMPLES_PER_EVENT);
          await this.d.events.usage({ v: WIRE_VERSION, nodeId: this.d.nodeId, at: nowMs(), samples: batch }, `usage:${batch[0].id}:${batch.length}`);
          this.d.metrics?.usageSamples.inc(batch.length);
          const sent = new Set(batch.map((s) => s.id));
          this.state.pending = this.state.pending.filter((s) => !sent.has(s.id));
          await this.persist();
          if (this.sendFailing) this.d.log.info('usage samples are being delivered again', { pending: this.state.pending.length });
          this.sendFailing = false;
        }
      } catch (err) {
        if (!this.sendFailing) this.d.log.warn('usage samples kept for later: NATS did not take them', { pending: this.state.pending.length, error: errorMessage(err) });
        this.sendFailing = true;
        if (this.timer && !this.retry) this.retry = setTimeout(() => ((this.retry = null), void this.send()), Math.min(5000, this.d.intervalMs));
      } finally {
        if (this.sending === run) this.sending = null;
      }
    })();
    this.sending = run;
    return run;
  }
}

/** The hypervisor as the command handlers see it: every stop first reads the server's counters. */
export function meteredHypervisor(hv: HypervisorPort, sampler: UsageSampler): HypervisorPort {
  return new Proxy(hv, {
    get(target, prop, receiver) {
      if (prop === 'destroy' || prop === 'shutdown') {
        return async (name: string) => {
          await sampler.flush(serverIdOfDomain(name));
          return target[prop](name);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
