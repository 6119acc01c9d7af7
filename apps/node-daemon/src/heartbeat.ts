import { statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { DomainState, WIRE_VERSION, type Subjects } from '@oblako/contracts';
import { nowMs } from './clock.js';
import type { DaemonConfig } from './config.js';
import type { KeyedQueue } from './commands/keyed-queue.js';
import type { HypervisorPort } from './hypervisor/port.js';
import { errorMessage, type Logger } from './log.js';
import type { DaemonMetrics } from './metrics/daemon-metrics.js';
import { serverIdOfDomain } from './naming.js';
import { ensureCommandConsumer, type Bus } from './nats/bus.js';

/**
 * The node's heartbeat every `heartbeatIntervalMs`: capacity and every `oblako-*` domain with its state. It
 * also reports state changes nobody commanded (a guest powered itself off, crashed) and domains that vanished,
 * leaving servers with a command in flight to the command's own report; and it recreates the command
 * consumer (or stream) if it was deleted under the daemon.
 *
 * The heartbeat itself is only local reads (capacity, domains, disk) and one core NATS publish, stamped with
 * the time the domains were read: the API compares tasks that finished after `at` with the list. Everything
 * that asks JetStream (the stream and consumer checks, the state reports) runs after it, one round at a time,
 * and never holds the next beat. On a cluster that lost a server, a consumer check waited out its 5 s timeout
 * twice; with it inside the beat, heartbeats went out seconds late carrying a domain list read before the
 * latest creates and stops (and `at` said "now"), so the API could mark a new server missing.
 */
export class HeartbeatLoop {
  /** serverId → the domain state last reported. */
  private readonly known = new Map<string, DomainState>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | undefined;
  /** The JetStream chores of the last beat (checks and state reports), while they run. */
  private chores: Promise<void> | undefined;

  constructor(
    private readonly d: { config: DaemonConfig; subjects: Subjects; bus: Bus; hv: HypervisorPort; queue: KeyedQueue; log: Logger; version: string; metrics?: DaemonMetrics; backupPublicKey?: string;
      /** This process's id in every beat (new at each start: the API hands a restarted daemon its commands at once). */
      instanceId?: string },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.beat(), this.d.config.heartbeatIntervalMs);
    this.beat();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.chores;
  }

  /** A heartbeat now, after the one in progress. */
  async now(): Promise<void> {
    await this.running;
    await this.chores;
    await this.heartbeat();
    await this.chores;
  }

  /**
   * Report a domain's state if it changed since the last report. `at` is when it was observed (not sent): a
   * command that ends between the observation and the report has a later finish time, so the API can tell the
   * report is older than that command's result.
   */
  async reportState(serverId: string, state: DomainState, at = nowMs()): Promise<void> {
    if (this.known.get(serverId) === state) return;
    if (state === DomainState.Missing) this.known.delete(serverId);
    else this.known.set(serverId, state);
    await this.d.bus.events.domainState({ v: WIRE_VERSION, serverId, nodeId: this.d.config.nodeId, state, at });
  }

  private beat(): void {
    if (this.running || !this.timer) return;
    this.running = this.heartbeat()
      .catch((err: unknown) => this.d.log.warn('heartbeat failed', { error: errorMessage(err) }))
      .finally(() => (this.running = undefined));
  }

  private async heartbeat(): Promise<void> {
    const { config, bus, hv } = this.d;
    const observedAt = nowMs();
    const [cap, domains, diskGiB] = await Promise.all([hv.capacity(), hv.list(), diskCapacityGiB(config.dataDir)]);
    const ours: { serverId: string; state: DomainState }[] = [];
    for (const d of domains) {
      const serverId = serverIdOfDomain(d.name);
      if (serverId) ours.push({ serverId, state: d.state });
    }
    bus.events.heartbeat({
      v: WIRE_VERSION, nodeId: config.nodeId, at: observedAt, daemonVersion: this.d.version, hypervisor: hv.describe(),
      capacity: { vcpus: cap.vcpus, memoryMiB: cap.memoryMiB, diskGiB }, domains: ours, load1: Math.round(loadavg()[0]! * 100) / 100,
      ...(this.d.backupPublicKey ? { backupPublicKey: this.d.backupPublicKey } : {}),
      ...(this.d.instanceId ? { instanceId: this.d.instanceId } : {}),
    });
    this.d.metrics?.heartbeats.inc();
    this.d.metrics?.lastHeartbeat.set(Date.now() / 1000);
    this.d.metrics?.setDomains(ours.map((d) => d.state));
    if (!this.chores) {
      this.chores = this.choresAfter(ours, observedAt)
        .catch((err: unknown) => this.d.log.warn('heartbeat follow-up failed', { error: errorMessage(err) }))
        .finally(() => (this.chores = undefined));
    }
  }

  /** After a beat: check the event stream and the command consumer, then report the states that changed. */
  private async choresAfter(ours: { serverId: string; state: DomainState }[], observedAt: number): Promise<void> {
    const { config, bus, queue, log, subjects: s } = this.d;
    await Promise.all([
      bus.events.refreshEventStream(),
      // a consumer (or stream) deleted under us is recreated: pulls on it resume by themselves
      ensureCommandConsumer(bus.jsm, s, config.nodeId, log, config.streamReplicas).catch((err: unknown) => log.warn('cannot check the command consumer', { error: errorMessage(err) })),
    ]);
    const seen = new Set(ours.map((d) => d.serverId));
    for (const d of ours) if (!queue.has(d.serverId)) await this.reportState(d.serverId, d.state, observedAt);
    for (const id of [...this.known.keys()]) if (!seen.has(id) && !queue.has(id)) await this.reportState(id, DomainState.Missing, observedAt);
  }
}

async function diskCapacityGiB(dir: string): Promise<number> {
  try {
    const st = await statfs(dir);
    return Math.floor((st.bavail * st.bsize) / 1024 ** 3);
  } catch {
    return 0;
  }
}
