import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { subjects as makeSubjects, type Subjects } from '@oblako/contracts';
import { validateConfig, ConfigError, type DaemonConfig } from './config.js';
import { CommandExecutor } from './commands/executor.js';
import { CommandLoop } from './commands/command-loop.js';
import { KeyedQueue } from './commands/keyed-queue.js';
import { consolePathsOf } from './console/paths.js';
import { ConsoleRelay } from './console/relay.js';
import { MinimalProvisioner, type ServerProvisioner } from './commands/provisioner.js';
import { NO_GUEST_AGENT, VirshGuestAgent, type GuestAgent } from './guest-agent.js';
import { HeartbeatLoop } from './heartbeat.js';
import { ImageCache } from './disks/images.js';
import { ImageVerifier } from './disks/image-verifier.js';
import { ensureBackupKey, PushBackupEngine, type BackupEngine } from './backups/engine.js';
import { Overlays } from './disks/overlays.js';
import { execProgram } from './host/exec.js';
import { LibvirtHypervisor } from './hypervisor/libvirt-adapter.js';
import type { HypervisorPort } from './hypervisor/port.js';
import { createLogger, errorMessage, type Logger } from './log.js';
import { helloApi, openBus, type Bus } from './nats/bus.js';
import { WIRE_VERSION } from '@oblako/contracts';
import { DomstatsReader, TapCounterReader, type UsageReader } from './usage/counters.js';
import { meteredHypervisor, UsageSampler } from './usage/sampler.js';
import { DaemonMetrics, MetricsServer, timedHypervisor } from './metrics/daemon-metrics.js';

export const DAEMON_VERSION = '0.1.0';

/** The API speaks another wire version: the daemon takes no command (exit code 3 in main). */
export class WireVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireVersionError';
  }
}

/** Replace the moving parts in tests; the defaults are the real ones. */
export interface DaemonDeps {
  hypervisor?: HypervisorPort;
  /** Built after the hypervisor is connected (full mode needs the host checked first). */
  provisioner?: ServerProvisioner | ((config: DaemonConfig, log: Logger) => Promise<ServerProvisioner>);
  logger?: Logger;
  /** The guests' agent; default: through virsh on a full-provisioning node, none on libvirt's test driver. */
  guestAgent?: GuestAgent;
  /** What the usage meter reads (default: tap counters and `virsh domstats` in full mode, nothing in minimal mode). */
  usageReaders?: readonly UsageReader[];
  /** Backups to SFTP/SSH stores; default: push mode with the node's own key in full mode, none in minimal mode. */
  backups?: BackupEngine;
}

export interface DaemonHandle {
  readonly config: DaemonConfig;
  readonly subjects: Subjects;
  readonly hypervisor: HypervisorPort;
  /** The console relay (VNC and serial sessions the API opened). */
  readonly consoles: ConsoleRelay;
  /** The command loop (its `finished` results answer redelivered commands). */
  readonly commands: CommandLoop;
  /** The usage meter (null when nothing is metered: minimal mode or USAGE_INTERVAL_MS=0). */
  readonly usage: UsageSampler | null;
  /** This daemon's Prometheus metrics, and the URL of its /metrics (null when METRICS_LISTEN is off). */
  readonly metrics: DaemonMetrics;
  readonly metricsUrl: string | null;
  /** Publish a heartbeat now (also detects domain state changes). */
  heartbeat(): Promise<void>;
  /** Stop pulling, finish in-flight commands, drain NATS, close libvirt. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when the daemon has stopped. */
  readonly stopped: Promise<void>;
}

/**
 * Start a node daemon in this process: connect libvirt and NATS, then run the command loop
 * (commands/command-loop.ts, one handler per op in commands/handlers/), the heartbeat (heartbeat.ts) and
 * the console relay (console/relay.ts).
 * Rejects, naming the problem, if NATS or libvirt cannot be reached.
 */
export async function startDaemon(config: DaemonConfig, deps: DaemonDeps = {}): Promise<DaemonHandle> {
  const problems = validateConfig(config);
  if (problems.length) throw new ConfigError(problems);
  const log = deps.logger ?? createLogger(config.logLevel, { node: config.nodeId });
  const s = makeSubjects(config.subjectPrefix);
  const hv = deps.hypervisor ?? new LibvirtHypervisor(config.libvirtUri, log);

  await hv.connect();
  let bus: Bus;
  let provisioner: ServerProvisioner;
  try {
    provisioner = await buildProvisioner(config, log, hv, deps.provisioner);
    bus = await openBus(config, s, log);
  } catch (err) {
    await hv.close().catch(() => undefined);
    throw err;
  }
  const hello = await helloApi(bus.nc, s, config.nodeId, DAEMON_VERSION, log);
  if (hello && !hello.ok) {
    log.error('the API refuses this daemon', { reason: hello.message, apiWireVersion: hello.apiWireVersion, daemonWireVersion: WIRE_VERSION });
    await bus.nc.close().catch(() => undefined);
    await hv.close().catch(() => undefined);
    throw new WireVersionError(hello.message);
  }

  const metrics = new DaemonMetrics();
  let metricsServer = config.metricsListen ? new MetricsServer(metrics, config.metricsListen) : null;
  try {
    await metricsServer?.start();
  } catch (err) {
    // Operators lose a scrape target, not the node: the daemon runs on and says why (the port is taken, most likely).
    log.error('cannot serve /metrics; running without it', { listen: `${config.metricsListen!.host}:${config.metricsListen!.port}`, fix: 'free the port or set METRICS_LISTEN', error: errorMessage(err) });
    metricsServer = null;
  }
  // every hypervisor call the daemon makes is timed; the handle keeps the port itself
  const timed = timedHypervisor(hv, metrics);
  const consoles = new ConsoleRelay(bus.nc, s, config.nodeId, consolePathsOf(config), log);
  await consoles.start();
  const queue = new KeyedQueue(config.maxConcurrentCommands);
  const backups = deps.backups ?? (config.provisioning === 'full' ? await startBackupEngine(config, log) : undefined);
  const heartbeats = new HeartbeatLoop({ config, subjects: s, bus, hv: timed, queue, log, version: DAEMON_VERSION, metrics, backupPublicKey: backups?.publicKey, instanceId: randomUUID() });
  const agent = deps.guestAgent ?? (config.provisioning === 'full' && !config.libvirtUri.startsWith('test') ? new VirshGuestAgent(config.libvirtUri, execProgram) : NO_GUEST_AGENT);
  const readers = deps.usageReaders ?? (config.provisioning === 'full' ? [new TapCounterReader(execProgram, config.netns), new DomstatsReader(execProgram, config.libvirtUri)] : []);
  const usage = config.usageIntervalMs > 0 && readers.length
    ? new UsageSampler({ hv: timed, readers, events: bus.events, nodeId: config.nodeId, dataDir: config.dataDir, intervalMs: config.usageIntervalMs, log, metrics })
    : null;
  await usage?.start();
  const executor = new CommandExecutor(usage ? meteredHypervisor(timed, usage) : timed, provisioner, { stopGraceSeconds: config.stopGraceSeconds, agent, backups });
  // one cache per folder and process (its sweep of partial downloads must never meet another instance's fetch)
  const images = new ImageVerifier(provisioner.imageCache ?? new ImageCache(join(config.dataDir, 'images'), { exec: execProgram }), config.nodeId, (e) => bus.events.imageProgress(e));
  const commands = new CommandLoop({ config, subjects: s, bus, executor, queue, log, metrics, images, reportState: (id, state) => heartbeats.reportState(id, state) });
  heartbeats.start();
  commands.start();
  log.info('node daemon started', { libvirt: config.libvirtUri, provisioning: config.provisioning, stream: s.commandStream, consumer: s.nodeConsumer(config.nodeId), metrics: metricsServer?.url ?? 'off' });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      log.info('node daemon stopping: finishing in-flight commands');
      await heartbeats.stop();
      await commands.stop();
      await usage?.stop();
      await consoles.stop();
      await metricsServer?.stop();
      await bus.nc.drain().catch((err: unknown) => log.warn('draining NATS failed', { error: errorMessage(err) }));
      await hv.close();
      log.info('node daemon stopped');
      resolveStopped();
    })();
    return stopPromise;
  };

  return { config, subjects: s, hypervisor: hv, consoles, commands, usage, metrics, metricsUrl: metricsServer?.url ?? null, heartbeat: () => heartbeats.now(), stop, stopped };
}

async function buildProvisioner(config: DaemonConfig, log: Logger, hv: HypervisorPort, given: DaemonDeps['provisioner']): Promise<ServerProvisioner> {
  if (typeof given === 'function') return given(config, log);
  if (given) return given;
  if (config.provisioning !== 'full') return new MinimalProvisioner(config);
  // Loaded lazily so that minimal mode never touches host tools.
  const { createFullProvisioner } = await import('./provision/full.js');
  return createFullProvisioner(config, log, hv);
}

/**
 * The node's backup engine: its key pair (made on first start, `<dataDir>/backups/backup_ed25519`, 0600, never sent)
 * and push-mode backups staged under `<dataDir>/backups/staging`. Without `ssh-keygen` the node runs on without
 * backups and says why.
 */
async function startBackupEngine(config: DaemonConfig, log: Logger): Promise<BackupEngine | undefined> {
  const dir = join(config.dataDir, 'backups');
  try {
    const { keyPath, publicKey } = await ensureBackupKey(execProgram, dir, config.nodeId);
    const overlays = new Overlays(join(config.dataDir, 'disks'), execProgram);
    return new PushBackupEngine({ exec: execProgram, libvirtUri: config.libvirtUri, dir, keyPath, publicKey, diskPath: (id) => overlays.pathOf(id) });
  } catch (err) {
    log.error('cannot make the node\'s backup key; running without backups', { fix: 'install openssh-client (ssh-keygen, ssh)', error: errorMessage(err) });
    return undefined;
  }
}
