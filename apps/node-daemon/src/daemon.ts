import { statfs } from 'node:fs/promises';
import type { JsMsg } from '@nats-io/jetstream';
import {
  DomainState,
  parseNodeCommand,
  subjects as makeSubjects,
  TASK_OPS,
  WIRE_VERSION,
  type NodeCommand,
  type Subjects,
  type TaskOp,
} from '@oblako/contracts';
import { nowMs, sleep } from './clock.js';
import { validateConfig, ConfigError, type DaemonConfig } from './config.js';
import { CommandExecutor, FailureCode, type Outcome } from './commands/executor.js';
import { KeyedQueue } from './commands/keyed-queue.js';
import { consolePathsOf } from './console/paths.js';
import { ConsoleRelay } from './console/relay.js';
import { MinimalProvisioner, type ServerProvisioner } from './commands/provisioner.js';
import { StepRecorder } from './commands/recorder.js';
import { LibvirtHypervisor } from './hypervisor/libvirt-adapter.js';
import { HypervisorErrorCode, type HypervisorPort } from './hypervisor/port.js';
import { createLogger, errorMessage, type Logger } from './log.js';
import { serverIdOfDomain } from './naming.js';
import { ensureCommandConsumer, openBus, type Bus } from './nats/bus.js';

export const DAEMON_VERSION = '0.1.0';

/** Replace the moving parts in tests; the defaults are the real ones. */
export interface DaemonDeps {
  hypervisor?: HypervisorPort;
  /** Built after the hypervisor is connected (full mode needs the host checked first). */
  provisioner?: ServerProvisioner | ((config: DaemonConfig, log: Logger) => Promise<ServerProvisioner>);
  logger?: Logger;
}

export interface DaemonHandle {
  readonly config: DaemonConfig;
  readonly subjects: Subjects;
  readonly hypervisor: HypervisorPort;
  /** The console relay (VNC and serial sessions the API opened). */
  readonly consoles: ConsoleRelay;
  /** Publish a heartbeat now (also detects domain state changes). */
  heartbeat(): Promise<void>;
  /** Stop pulling, finish in-flight commands, drain NATS, close libvirt. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when the daemon has stopped. */
  readonly stopped: Promise<void>;
}

const FETCH_EXPIRES_MS = 5_000;
const KEEPALIVE_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Start a node daemon in this process. Rejects, naming the problem, if NATS or libvirt cannot be reached. */
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
    provisioner =
      typeof deps.provisioner === 'function'
        ? await deps.provisioner(config, log)
        : (deps.provisioner ?? (config.provisioning === 'full' ? await loadFullProvisioner(config, log, hv) : new MinimalProvisioner(config)));
    bus = await openBus(config, s, log);
  } catch (err) {
    await hv.close().catch(() => undefined);
    throw err;
  }

  const consoles = new ConsoleRelay(bus.nc, s, config.nodeId, consolePathsOf(config), log);
  await consoles.start();
  const executor = new CommandExecutor(hv, provisioner, { stopGraceSeconds: config.stopGraceSeconds });
  const queue = new KeyedQueue(config.maxConcurrentCommands);
  const known = new Map<string, DomainState>(); // serverId → last state reported
  let stopping = false;
  const pulls = new Set<{ stop(): void }>();
  const stopSignal = new AbortController();

  const reportState = async (serverId: string, state: DomainState): Promise<void> => {
    if (known.get(serverId) === state) return;
    if (state === DomainState.Missing) known.delete(serverId);
    else known.set(serverId, state);
    await bus.events.domainState({ v: WIRE_VERSION, serverId, nodeId: config.nodeId, state, at: nowMs() });
  };

  const rejectInvalid = async (m: JsMsg, raw: unknown, error: string, code: string, receivedAt: number): Promise<void> => {
    log.warn('refusing a command', { subject: m.subject, seq: m.seq, code, error });
    const r = (raw ?? {}) as Record<string, unknown>;
    const op = typeof r.op === 'string' && (TASK_OPS as readonly string[]).includes(r.op) ? (r.op as TaskOp) : opFromSubject(m.subject);
    if (typeof r.taskId === 'string' && UUID.test(r.taskId) && typeof r.serverId === 'string' && UUID.test(r.serverId) && op) {
      const finishedAt = nowMs();
      await bus.events
        .result({
          v: WIRE_VERSION,
          taskId: r.taskId,
          serverId: r.serverId,
          nodeId: config.nodeId,
          op,
          ok: false,
          error: { code, message: error.slice(0, 4000) },
          domainState: DomainState.Other,
          timings: { receivedAt, finishedAt, steps: {} },
          at: finishedAt,
        })
        .catch((err: unknown) => log.error('could not report a refused command', { error: errorMessage(err) }));
    }
    // Terminate: never redelivered, whatever max_deliver says. (No reason text: nats-server
    // before 2.10 does not understand "+TERM <reason>" and would leave the message pending.)
    m.term();
  };

  const opFromSubject = (subject: string): TaskOp | null => {
    const name = s.parse(subject)?.name ?? null;
    return name && (TASK_OPS as readonly string[]).includes(name) ? (name as TaskOp) : null;
  };

  const handle = async (m: JsMsg): Promise<void> => {
    const receivedAt = nowMs();
    let raw: unknown;
    try {
      raw = m.json();
    } catch (err) {
      return rejectInvalid(m, undefined, `the message is not JSON: ${errorMessage(err)}`, FailureCode.InvalidCommand, receivedAt);
    }
    const parsed = parseNodeCommand(raw);
    if (!parsed.ok) return rejectInvalid(m, raw, parsed.error, FailureCode.InvalidCommand, receivedAt);
    const cmd: NodeCommand = parsed.command;
    if (cmd.nodeId !== config.nodeId) {
      return rejectInvalid(m, raw, `command for node ${cmd.nodeId} delivered to node ${config.nodeId}`, FailureCode.WrongNode, receivedAt);
    }
    const subjOp = opFromSubject(m.subject);
    if (subjOp && subjOp !== cmd.op) {
      return rejectInvalid(m, raw, `subject says "${subjOp}" but the command says "${cmd.op}"`, FailureCode.InvalidCommand, receivedAt);
    }

    const keepAlive = setInterval(() => m.working(), KEEPALIVE_MS);
    try {
      const rec = new StepRecorder(
        (stage, progress) =>
          bus.events.progress({ v: WIRE_VERSION, taskId: cmd.taskId, serverId: cmd.serverId, nodeId: config.nodeId, attempt: cmd.attempt, stage, progress, at: nowMs() }),
        receivedAt,
        () => m.working(),
      );
      const outcome: Outcome = await queue.run(cmd.serverId, () => executor.execute(cmd, rec));
      if (!outcome.ok && outcome.error?.code === HypervisorErrorCode.Connection && m.info.deliveryCount < 5 && !stopping) {
        log.warn('hypervisor unreachable, command will be redelivered', { taskId: cmd.taskId, error: outcome.error.message });
        m.nak(2000);
        return;
      }
      const finishedAt = nowMs();
      await bus.events.result({
        v: WIRE_VERSION,
        taskId: cmd.taskId,
        serverId: cmd.serverId,
        nodeId: config.nodeId,
        attempt: cmd.attempt,
        op: cmd.op,
        ok: outcome.ok,
        ...(outcome.error ? { error: { code: outcome.error.code.slice(0, 64), message: outcome.error.message.slice(0, 4000) } } : {}),
        domainState: outcome.domainState,
        timings: rec.timings(finishedAt),
        at: finishedAt,
      });
      m.ack();
      log[outcome.ok ? 'info' : 'warn']('command done', {
        op: cmd.op,
        taskId: cmd.taskId,
        serverId: cmd.serverId,
        ok: outcome.ok,
        error: outcome.error,
        ms: Math.round((finishedAt - receivedAt) * 100) / 100,
      });
      await reportState(cmd.serverId, outcome.domainState).catch((err: unknown) => log.warn('domain.state not published', { error: errorMessage(err) }));
    } catch (err) {
      // The result could not be published: let JetStream redeliver; the handlers are idempotent.
      log.error('command not acknowledged, it will be redelivered', { taskId: cmd.taskId, error: errorMessage(err) });
      m.nak(1000);
    } finally {
      clearInterval(keepAlive);
    }
  };

  const worker = async (): Promise<void> => {
    while (!stopping) {
      try {
        const batch = await bus.consumer.fetch({ max_messages: 1, expires: FETCH_EXPIRES_MS });
        pulls.add(batch);
        try {
          for await (const m of batch) {
            if (stopping) {
              m.nak();
              continue;
            }
            await handle(m);
          }
        } finally {
          pulls.delete(batch);
        }
      } catch (err) {
        if (stopping) break;
        log.warn('pulling commands failed, retrying', { error: errorMessage(err) });
        await sleep(1000, stopSignal.signal);
      }
    }
  };

  const heartbeat = async (): Promise<void> => {
    const [cap, domains, diskGiB] = await Promise.all([
      hv.capacity(),
      hv.list(),
      diskCapacityGiB(config.dataDir),
      bus.events.refreshEventStream(),
      // a consumer (or stream) deleted under us is recreated: pulls on it resume by themselves
      ensureCommandConsumer(bus.jsm, s, config.nodeId, log, config.streamReplicas).catch((err: unknown) => log.warn('cannot check the command consumer', { error: errorMessage(err) })),
    ]);
    const ours: { serverId: string; state: DomainState }[] = [];
    const seen = new Set<string>();
    for (const d of domains) {
      const serverId = serverIdOfDomain(d.name);
      if (!serverId) continue;
      ours.push({ serverId, state: d.state });
      seen.add(serverId);
    }
    bus.events.heartbeat({
      v: WIRE_VERSION,
      nodeId: config.nodeId,
      at: nowMs(),
      daemonVersion: DAEMON_VERSION,
      hypervisor: hv.describe(),
      capacity: { vcpus: cap.vcpus, memoryMiB: cap.memoryMiB, diskGiB },
      domains: ours,
    });
    // State changes nobody commanded (a guest powered itself off, a crash), and domains that vanished.
    // Servers with a command in flight are left to the command's own report.
    for (const d of ours) if (!queue.has(d.serverId)) await reportState(d.serverId, d.state);
    for (const id of [...known.keys()]) if (!seen.has(id) && !queue.has(id)) await reportState(id, DomainState.Missing);
  };

  let hbRunning: Promise<void> | undefined;
  const beat = () => {
    if (hbRunning || stopping) return;
    hbRunning = heartbeat()
      .catch((err: unknown) => log.warn('heartbeat failed', { error: errorMessage(err) }))
      .finally(() => (hbRunning = undefined));
  };
  const hbTimer = setInterval(beat, config.heartbeatIntervalMs);
  beat();

  const workers = Array.from({ length: config.maxConcurrentCommands }, () => worker());
  log.info('node daemon started', {
    libvirt: config.libvirtUri,
    provisioning: config.provisioning,
    stream: s.commandStream,
    consumer: s.nodeConsumer(config.nodeId),
  });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      log.info('node daemon stopping: finishing in-flight commands');
      stopping = true;
      stopSignal.abort();
      clearInterval(hbTimer);
      for (const p of pulls) p.stop();
      await Promise.allSettled(workers);
      await queue.idle();
      await hbRunning;
      await consoles.stop();
      await bus.nc.drain().catch((err: unknown) => log.warn('draining NATS failed', { error: errorMessage(err) }));
      await hv.close();
      log.info('node daemon stopped');
      resolveStopped();
    })();
    return stopPromise;
  };

  return {
    config,
    subjects: s,
    hypervisor: hv,
    consoles,
    heartbeat: async () => {
      await hbRunning;
      await heartbeat();
    },
    stop,
    stopped,
  };
}

async function diskCapacityGiB(dir: string): Promise<number> {
  try {
    const st = await statfs(dir);
    return Math.floor((st.bavail * st.bsize) / 1024 ** 3);
  } catch {
    return 0;
  }
}

/** Loaded lazily so that minimal mode never touches host tools. */
async function loadFullProvisioner(config: DaemonConfig, log: Logger, hv: HypervisorPort): Promise<ServerProvisioner> {
  const { createFullProvisioner } = await import('./provision/full.js');
  return createFullProvisioner(config, log, hv);
}
